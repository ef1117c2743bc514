#!/usr/bin/env node
// HTTP file serving, side by side: bootproof's built-in server (harness/http) vs BusyBox's
// httpd (a C server Debian ships), same files, same client (curl), fetched alternately so
// drift on a shared machine hits both alike. Reported as ratios built-in / busybox
// (throughput: > 1 is faster; latency: < 1 is faster).
//   large: one 64 MiB GET (what iPXE does with a kernel or an image)
//   small: 200 GETs of a 4 KiB file, one curl process (what a script and its chains cost)
//   parallel: 8 concurrent 16 MiB GETs
// The built-in server runs in a child Node process, so it never shares an event loop with
// the client. It is this checkout's compiled harness/http (run `npm run build` first).
//
// Usage: node bench/http-perf.mjs [--rounds N] [--json FILE]
import { execFile, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { scratchDir, startServerChild, superviseUntilReady } from "./lib/children.mjs";

const exec = promisify(execFile);
const repo = join(dirname(fileURLToPath(import.meta.url)), "..");
const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? fallback : process.argv[i + 1];
};
const rounds = Number(arg("rounds", 5));
const jsonOut = arg("json", undefined);
const BUSYBOX = "/bin/busybox";
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

async function freeTcpPort() {
  const server = createServer();
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function waitForHttp(port, deadlineMs = 5000) {
  const until = Date.now() + deadlineMs;
  while (Date.now() < until) {
    try {
      await exec("curl", ["-s", "-o", "/dev/null", `http://127.0.0.1:${port}/small.bin`]);
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  throw new Error(`no HTTP server answered on 127.0.0.1:${port} within ${deadlineMs} ms`);
}

/** The compiled server of this checkout (npm run build; its dependencies resolve from the repo). */
function compiledServer() {
  const dist = join(repo, "dist/harness/http/index.js");
  if (!existsSync(dist)) throw new Error(`${dist} is missing: run \`npm run build\` first`);
  return dist;
}

async function startBuiltIn(root, dist) {
  const code = `
    const { startHttpServer } = await import(${JSON.stringify(pathToFileURL(dist).href)});
    const server = await startHttpServer({ root: ${JSON.stringify(root)} });
    process.stdout.write(JSON.stringify({ port: server.port }) + "\\n");
    process.on("SIGTERM", () => server.close().then(() => process.exit(0)));`;
  const { port, stop } = await startServerChild("built-in HTTP server", code);
  return { name: "built-in", port, stop };
}

async function startBusybox(root) {
  if (!existsSync(BUSYBOX)) throw new Error(`${BUSYBOX} not found: bootproof doctor --fix (busybox-static)`);
  const port = await freeTcpPort();
  const child = spawn(BUSYBOX, ["httpd", "-f", "-p", `127.0.0.1:${port}`, "-h", root], {
    stdio: ["ignore", "inherit", "inherit"],
  });
  const stop = await superviseUntilReady(child, () => waitForHttp(port));
  return { name: "busybox httpd", port, stop };
}

async function timed(fn) {
  const started = performance.now();
  await fn();
  return performance.now() - started;
}

const curl = (args) => exec("curl", ["-sS", "--fail", ...args], { maxBuffer: 1 << 20 });

const WORKLOADS = {
  large: {
    unit: "MiB/s",
    run: (port, out) => curl(["-o", join(out, "large.out"), `http://127.0.0.1:${port}/large.bin`]),
    value: (ms) => 64 / (ms / 1000),
  },
  small: {
    unit: "ms per GET",
    run: (port) => curl(Array.from({ length: 200 }, () => ["-o", "/dev/null", `http://127.0.0.1:${port}/small.bin`]).flat()),
    value: (ms) => ms / 200,
  },
  parallel: {
    unit: "MiB/s",
    run: (port, out) =>
      Promise.all(
        Array.from({ length: 8 }, (_, i) => curl(["-o", join(out, `p${i}.out`), `http://127.0.0.1:${port}/medium.bin`])),
      ),
    value: (ms) => (8 * 16) / (ms / 1000),
  },
};

async function main() {
  const scratch = scratchDir(join(tmpdir(), "bp-http-bench-"));
  const work = scratch.path;
  try {
    const root = join(work, "root");
    const out = join(work, "out");
    mkdirSync(root);
    mkdirSync(out);
    writeFileSync(join(root, "large.bin"), randomBytes(64 << 20));
    writeFileSync(join(root, "medium.bin"), randomBytes(16 << 20));
    writeFileSync(join(root, "small.bin"), randomBytes(4096));
    const dist = compiledServer();
    const servers = [await startBuiltIn(root, dist), await startBusybox(root)];
    const results = {};
    try {
      for (const [name, workload] of Object.entries(WORKLOADS)) {
        const samples = Object.fromEntries(servers.map((s) => [s.name, []]));
        for (let round = 0; round < rounds; round++)
          for (const server of round % 2 ? [...servers].reverse() : servers)
            samples[server.name].push(workload.value(await timed(() => workload.run(server.port, out))));
        const [ours, theirs] = servers.map((s) => median(samples[s.name]));
        results[name] = { unit: workload.unit, builtIn: ours, busybox: theirs, ratio: ours / theirs };
        console.log(
          `${name.padEnd(9)} built-in ${ours.toFixed(2)} ${workload.unit}, busybox httpd ${theirs.toFixed(2)} ${workload.unit}, ratio ${(ours / theirs).toFixed(2)}`,
        );
      }
    } finally {
      await Promise.all(servers.map((s) => s.stop()));
    }
    if (jsonOut) writeFileSync(jsonOut, `${JSON.stringify({ rounds, results }, null, 2)}\n`);
  } finally {
    scratch.remove();
  }
}

await main();
