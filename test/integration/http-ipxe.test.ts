// Real iPXE (the NIC option ROM QEMU ships, under SeaBIOS and TCG) booting over bootproof's
// HTTP server: QEMU's user-mode DHCP hands out `http://10.0.2.2:PORT/boot.ipxe` as the boot
// filename, iPXE fetches the script, the script fetches a payload and chains a second script
// by relative URL, and the second one prints a marker on the serial console. The server's
// log must show every GET, complete. A second boot injects a fault (the payload's connection
// drops mid-body) and iPXE must notice. Then `bootproof serve http` as a user runs it.

import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildQemuCommand } from "../../emulator/argv.js";
import type { ConsoleLine } from "../../emulator/console.js";
import { MachineSchema } from "../../emulator/machine.js";
import { QemuProcess } from "../../emulator/qemu-process.js";
import { type HttpEvent, type HttpFaultPlanInput, startHttpServer } from "../../harness/http/index.js";
import { isAlive } from "./processes.js";

const PAYLOAD_BYTES = 1024 * 1024 + 17;
const DONE = "BOOTPROOF-HTTP-DONE";

let dir: string;
let root: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "bp-http-ipxe-"));
  root = join(dir, "root");
  await mkdir(root);
  // Relative URIs resolve against the script's own URI, so the scripts name no port.
  writeFileSync(
    join(root, "boot.ipxe"),
    [
      "#!ipxe",
      "echo BOOTPROOF-HTTP script one",
      "imgfetch --name payload payload.bin || goto fetch_failed",
      "imgstat",
      "chain next.ipxe || goto chain_failed",
      `echo ${DONE} ok`,
      "exit",
      ":fetch_failed",
      `echo ${DONE} fetch-failed`,
      "exit",
      ":chain_failed",
      `echo ${DONE} chain-failed`,
      "exit",
      "",
    ].join("\n"),
  );
  writeFileSync(join(root, "next.ipxe"), "#!ipxe\necho BOOTPROOF-HTTP-CHAINED from the second script\n");
  writeFileSync(join(root, "payload.bin"), randomBytes(PAYLOAD_BYTES));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** One guest whose NIC ROM boots from the server; resolves when the script says it is done. */
async function bootOverHttp(faults?: HttpFaultPlanInput) {
  const events: HttpEvent[] = [];
  const server = await startHttpServer({ root, faults, logger: (e) => events.push(e) });
  const lines: ConsoleLine[] = [];
  let qemu: QemuProcess | undefined;
  let launchError: unknown;
  try {
    const machine = MachineSchema.parse({
      name: "http-ipxe",
      memoryMiB: 256,
      nics: [
        {
          id: "net0",
          model: "virtio-net-pci",
          bootIndex: 0,
          user: { bootFile: server.url("boot.ipxe", "10.0.2.2") },
        },
      ],
      rebootTimeoutMs: 0,
    });
    const command = buildQemuCommand(machine, {}, "tcg");
    const done = new Promise<void>((resolveDone) => {
      const watch = (line: ConsoleLine) => {
        lines.push(line);
        if (line.text.includes(DONE) || /No bootable device/.test(line.text)) resolveDone();
      };
      QemuProcess.launch({ command, deadlineMs: 150_000, onLine: watch })
        .then((launched) => {
          qemu = launched;
          void launched.wait().then(() => resolveDone());
        })
        .catch((error: unknown) => {
          launchError = error;
          resolveDone();
        });
    });
    await done;
    if (launchError) throw launchError;
    const outcome = await qemu!.stop();
    return { events, console: lines.map((l) => l.text), outcome, pid: qemu!.pid, stats: { ...server.stats } };
  } finally {
    qemu?.kill("stopped");
    await server.close();
  }
}

const requests = (events: HttpEvent[]) =>
  events.filter((e): e is Extract<HttpEvent, { kind: "request" }> => e.kind === "request");

describe("iPXE over HTTP", () => {
  it("fetches the script, a payload and a chained script; the server logs each GET complete", async () => {
    const boot = await bootOverHttp();
    const text = boot.console.join("\n");
    expect(boot.outcome.reason, text).toBe("stopped");
    expect(isAlive(boot.pid)).toBe(false);
    expect(text).toContain("Filename: http://10.0.2.2:");
    expect(text).toContain("BOOTPROOF-HTTP script one");
    expect(text).toContain("BOOTPROOF-HTTP-CHAINED from the second script");
    expect(text).toContain(`${DONE} ok`);
    expect(text).toMatch(new RegExp(`payload : ${PAYLOAD_BYTES} bytes`));
    const served = requests(boot.events).map((r) => `${r.method} ${r.path} ${r.status} ${r.bytes} ${r.complete}`);
    expect(served).toEqual([
      expect.stringMatching(/^GET \/boot\.ipxe 200 \d+ true$/),
      `GET /payload.bin 200 ${PAYLOAD_BYTES} true`,
      expect.stringMatching(/^GET \/next\.ipxe 200 \d+ true$/),
    ]);
    // iPXE keeps its HTTP connection alive: all three requests come on one connection.
    expect(new Set(requests(boot.events).map((r) => r.connection)).size).toBe(1);
    expect(boot.stats.connections).toBe(1);
  });

  it("notices a payload whose connection drops mid-body", async () => {
    const boot = await bootOverHttp({
      rules: [{ match: { path: "/payload.bin" }, action: { kind: "drop", afterBytes: 300_000 } }],
    });
    const text = boot.console.join("\n");
    expect(text, text).toContain(`${DONE} fetch-failed`);
    expect(text).toMatch(/payload\.bin\.\.\. Input\/output error/);
    expect(isAlive(boot.pid)).toBe(false);
    expect(text).not.toContain("BOOTPROOF-HTTP-CHAINED");
    expect(boot.events).toContainEqual(expect.objectContaining({ kind: "fault", path: "/payload.bin", action: "drop" }));
    expect(requests(boot.events).find((r) => r.path === "/payload.bin")).toMatchObject({ bytes: 300_000, complete: false });
  });
});

describe("bootproof serve http", () => {
  it("serves a directory on loopback, prints the URL and stops on SIGINT", async () => {
    const server = execa(resolve("bin/bootproof"), ["serve", "http", "--root", root, "--port", "0"], { reject: false });
    try {
      const url = await new Promise<string>((resolveUrl, reject) => {
        let out = "";
        server.stdout?.on("data", (chunk: Buffer) => {
          out += chunk.toString();
          const match = /on (http:\/\/127\.0\.0\.1:\d+\/)/.exec(out);
          if (match) resolveUrl(match[1]!);
        });
        void server.then(() => reject(new Error(`serve http exited early: ${out}`)));
      });
      const fetched = await execa("/usr/bin/curl", ["-s", "-f", `${url}next.ipxe`]);
      expect(fetched.stdout).toContain("BOOTPROOF-HTTP-CHAINED");
      const refused = await execa("/usr/bin/curl", ["-s", "--path-as-is", "-o", "/dev/null", "-w", "%{http_code}", `${url}../x`]);
      expect(refused.stdout).toBe("400");
    } finally {
      server.kill("SIGINT");
    }
    const result = await server;
    expect(result.stderr).toMatch(/http: #\d+ GET \/next\.ipxe 200 \d+ bytes/);
    expect(result.stderr).toMatch(/refused: '\.\.' is refused/);
  });
});
