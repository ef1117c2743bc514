// bench/lib/children.mjs: an interrupted bench leaves no process and no scratch directory.
// A small bench-like script starts a supervised child and a scratch directory, reports them,
// and waits; the test signals the script the way Ctrl-C or a CI timeout would.
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";

const lib = pathToFileURL(join(process.cwd(), "bench/lib/children.mjs")).href;

const script = `
  import { spawn } from "node:child_process";
  import { tmpdir } from "node:os";
  import { join } from "node:path";
  import { scratchDir, supervise } from ${JSON.stringify(lib)};
  const dir = scratchDir(join(tmpdir(), "bp-children-test-"));
  // A child that ignores SIGTERM: the undo step has to escalate to SIGKILL.
  const stubborn = spawn("sh", ["-c", "trap '' TERM; while :; do sleep 0.05; done"], { stdio: "ignore" });
  supervise(stubborn, 300);
  process.stdout.write(JSON.stringify({ dir: dir.path, pid: stubborn.pid }) + "\\n");
  setInterval(() => {}, 1000);
`;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function started(): Promise<{ bench: ChildProcess; dir: string; pid: number }> {
  const bench = spawn(process.execPath, ["--input-type=module", "-e", script], { stdio: ["ignore", "pipe", "pipe"] });
  const line = await new Promise<string>((resolve, reject) => {
    bench.once("exit", (code) => reject(new Error(`bench script exited early (${code})`)));
    bench.stdout?.once("data", (data) => resolve(String(data)));
  });
  const { dir, pid } = JSON.parse(line) as { dir: string; pid: number };
  return { bench, dir, pid };
}

describe("an interrupted bench", () => {
  for (const [signal, code] of [
    ["SIGTERM", 143],
    ["SIGINT", 130],
  ] as const) {
    it(`stops its children and removes its scratch directory on ${signal}`, async () => {
      const { bench, dir, pid } = await started();
      expect(existsSync(dir)).toBe(true);
      expect(alive(pid)).toBe(true);
      const exited = new Promise<number | null>((resolve) => bench.once("exit", (c) => resolve(c)));
      bench.kill(signal);
      expect(await exited).toBe(code);
      expect(alive(pid)).toBe(false);
      expect(existsSync(dir)).toBe(false);
    });
  }
});

describe("spawnSupervised (the benches that run bootproof to its end)", () => {
  it("returns the command's stdout and exit status, a non-zero one included", async () => {
    const { spawnSupervised } = (await import(lib)) as {
      spawnSupervised(file: string, args: string[]): Promise<{ status: number | null; stdout: string }>;
    };
    const result = await spawnSupervised("sh", ["-c", "echo summary; exit 1"]);
    expect(result).toMatchObject({ status: 1, stdout: "summary\n" });
  });

  it("stops the running command at once when the bench gets SIGTERM", async () => {
    // The command is waited for with spawnSupervised, as property-jobs.mjs waits for bootproof:
    // with spawnSync the signal would only be handled after the command had ended by itself.
    const waiting = `
      import { spawnSupervised } from ${JSON.stringify(lib)};
      const pending = spawnSupervised("sh", ["-c", "echo $$; exec sleep 30"]);
      pending.then(() => {});
      setInterval(() => {}, 1000);
    `;
    const bench = spawn(process.execPath, ["--input-type=module", "-e", waiting], { stdio: ["ignore", "pipe", "pipe"] });
    // The command's stdout is collected, not shown: find its pid among the bench's children.
    const pid = await new Promise<number>((resolve, reject) => {
      const deadline = Date.now() + 10_000;
      const look = () => {
        const found = findChild(bench.pid!);
        if (found) resolve(found);
        else if (Date.now() > deadline) reject(new Error("the command did not start"));
        else setTimeout(look, 50);
      };
      look();
    });
    const startedAt = Date.now();
    const exited = new Promise<number | null>((resolve) => bench.once("exit", (c) => resolve(c)));
    bench.kill("SIGTERM");
    expect(await exited).toBe(143);
    expect(Date.now() - startedAt).toBeLessThan(10_000);
    expect(alive(pid)).toBe(false);
  });
});

/** A child process of `parent` (from /proc), if it has one. */
function findChild(parent: number): number | undefined {
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid === parent) return Number(entry);
    } catch {
      // gone meanwhile
    }
  }
  return undefined;
}
