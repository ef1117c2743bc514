#!/usr/bin/env node
// TFTP throughput, side by side: bootproof's built-in server vs Debian's tftpd-hpa, same
// files, same clients, fetched alternately so drift on a shared machine hits both alike.
//   curl, blksize 512 and 1468 (lock-step, what firmware does)
//   our client, blksize 1468 + windowsize 16 (RFC 7440; curl has no windowsize, and
//   tftpd-hpa 5.2 does not implement it, so it falls back to lock-step there)
// Both servers run as separate processes (the built-in one in a child Node process), so
// neither shares an event loop with the client. Needs root (tftpd-hpa binds and drops to
// the tftp user). The server is compiled fresh from harness/tftp into the bench's temp dir.
// A third, the node:dgram floor (bench/lib/tftp-floor.mjs: the built-in server's packet codec,
// transfer socket and busy poll, packets prebuilt, nothing else per ACK), runs beside them: floor / tftpd-hpa is the most a Node server can reach
// on the host at that moment, built-in / floor what the built-in server leaves of it.
// The curl rows run three times: with the scheduler free to place server and client (the
// headline), with both pinned to one CPU and with them pinned to two (taskset). On a VM the
// placement decides much of a lock-step transfer's speed: waking a task on another, idle
// vCPU costs an inter-processor interrupt through the hypervisor on every packet, waking it
// on the waker's CPU only a context switch.
//
// Usage: node bench/tftp-perf.mjs [--rounds N] [--mib N] [--json FILE]
import { spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { createSocket } from "node:dgram";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { execSupervised, scratchDir, startServerChild, superviseUntilReady } from "./lib/children.mjs";
import { median, pairedRatio } from "./lib/stats.mjs";

const exec = execSupervised;
const repo = join(dirname(fileURLToPath(import.meta.url)), "..");

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? fallback : process.argv[i + 1];
}
const rounds = Number(arg("rounds", 5));
const mib = Number(arg("mib", 16));
const jsonOut = arg("json", undefined);

const sha256 = (bytes) => createHash("sha256").update(bytes).digest("hex");

/** A free UDP port on loopback (tftpd-hpa needs one named up front). */
async function freeUdpPort() {
  const socket = createSocket("udp4");
  await new Promise((resolve) => socket.bind(0, "127.0.0.1", resolve));
  const { port } = socket.address();
  await new Promise((resolve) => socket.close(resolve));
  return port;
}

/** Resolves once something answers a TFTP RRQ on the port (an ERROR for a missing file). */
async function waitForTftp(port, deadlineMs = 5000) {
  const rrq = Buffer.concat([Buffer.from([0, 1]), Buffer.from("bootproof-probe\0octet\0")]);
  const until = Date.now() + deadlineMs;
  while (Date.now() < until) {
    const socket = createSocket("udp4");
    const answered = await new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), 200);
      socket.on("message", () => {
        clearTimeout(timer);
        resolve(true);
      });
      socket.bind(0, "127.0.0.1", () => socket.send(rrq, port, "127.0.0.1"));
    });
    socket.close();
    if (answered) return;
  }
  throw new Error(`no TFTP server answered on 127.0.0.1:${port} within ${deadlineMs} ms`);
}

/** Compiles harness/tftp alone (fresh, independent of the rest of the tree) and returns its entry. */
async function compileServer(outDir) {
  const tsc = join(repo, "node_modules/typescript/bin/tsc");
  const flags = ["--outDir", outDir, "--rootDir", repo, "--module", "NodeNext", "--moduleResolution", "NodeNext"];
  flags.push("--target", "ES2022", "--strict", "--skipLibCheck", "--types", "node");
  await exec(process.execPath, [tsc, ...flags, join(repo, "harness/tftp/index.ts")], { cwd: repo });
  writeFileSync(join(outDir, "package.json"), '{ "type": "module" }\n');
  return join(outDir, "harness/tftp/index.js");
}

async function startBuiltIn(root, distServer) {
  const code = `
    const { startTftpServer } = await import(${JSON.stringify(pathToFileURL(distServer).href)});
    const server = await startTftpServer({ root: ${JSON.stringify(root)} });
    process.stdout.write(JSON.stringify({ port: server.port }) + "\\n");
    process.on("SIGTERM", () => server.close().then(() => process.exit(0)));`;
  const { port, stop, pid } = await startServerChild("built-in TFTP server", code);
  return { name: "built-in", port, stop, pid };
}

/**
 * The node:dgram floor (bench/lib/tftp-floor.mjs) in a child of its own, serving payload.bin,
 * built of the same compiled parts as the built-in server (`distServer` is its entry).
 */
async function startFloor(root, distServer) {
  const floor = pathToFileURL(join(repo, "bench/lib/tftp-floor.mjs")).href;
  const part = (path) => JSON.stringify(pathToFileURL(join(dirname(distServer), "..", path)).href);
  const code = `
    const { readFileSync } = await import("node:fs");
    const { startTftpFloor } = await import(${JSON.stringify(floor)});
    const tftp = {
      ...(await import(${part("tftp/packets.js")})),
      ...(await import(${part("tftp/socket.js")})),
      ...(await import(${part("net/busy-poll.js")})),
    };
    const server = await startTftpFloor("payload.bin", readFileSync(${JSON.stringify(join(root, "payload.bin"))}), tftp);
    process.stdout.write(JSON.stringify({ port: server.port }) + "\\n");
    process.on("SIGTERM", () => server.close().then(() => process.exit(0)));`;
  const { port, stop, pid } = await startServerChild("node:dgram floor", code);
  return { name: "floor", port, stop, pid };
}

async function startTftpdHpa(root) {
  const port = await freeUdpPort();
  if (!existsSync("/usr/sbin/in.tftpd")) throw new Error("in.tftpd not found: apt-get install -y tftpd-hpa");
  const child = spawn("in.tftpd", ["--foreground", "--listen", "--address", `127.0.0.1:${port}`, "--secure", root], {
    stdio: ["ignore", "inherit", "inherit"],
  });
  const stop = await superviseUntilReady(child, () => waitForTftp(port));
  return { name: "tftpd-hpa", port, stop, pid: child.pid };
}

/**
 * Where the scheduler may run the server (all its threads; tftpd-hpa's per-transfer children
 * inherit it from the listener) and curl. `curlCpus` undefined: anywhere.
 */
const placements = [
  { label: "", serverCpus: undefined, curlCpus: undefined },
  { label: ", server and curl on one CPU", serverCpus: "0", curlCpus: "0" },
  { label: ", server and curl on two CPUs", serverCpus: "1", curlCpus: "0" },
];

async function placeServer(server, cpus) {
  await exec("taskset", ["-a", "-p", "-c", cpus ?? `0-${availableParallelism() - 1}`, String(server.pid)]);
}

async function curlFetch(port, file, out, blksize, cpus) {
  const curl = ["-s", "-S", "--max-time", "120", "--tftp-blksize", String(blksize), "-o", out];
  curl.push(`tftp://127.0.0.1:${port}/${file}`);
  if (cpus === undefined) await exec("curl", curl);
  else await exec("taskset", ["-c", cpus, "curl", ...curl]);
  return readFileSync(out);
}

/** Minimal RFC 7440 read client (lock-step when the server ignores windowsize). */
function windowedFetch(port, file, blksize, windowsize) {
  const socket = createSocket("udp4");
  const request = Buffer.concat([
    Buffer.from([0, 1]),
    Buffer.from(`${file}\0octet\0blksize\0${blksize}\0windowsize\0${windowsize}\0`),
  ]);
  return new Promise((resolve, reject) => {
    const chunks = [];
    let server;
    let size = 512;
    let window = 1;
    let received = 0;
    let sinceAck = 0;
    let last = request;
    let timer;
    const send = (bytes) => {
      last = bytes;
      socket.send(bytes, server ?? port, "127.0.0.1");
      clearTimeout(timer);
      timer = setTimeout(() => send(last), 1000);
    };
    const ack = (n) => {
      sinceAck = 0;
      send(Buffer.from([0, 4, (n >> 8) & 0xff, n & 0xff]));
    };
    socket.on("message", (msg, rinfo) => {
      server ??= rinfo.port;
      const op = msg.readUInt16BE(0);
      if (op === 5) {
        clearTimeout(timer);
        socket.close();
        reject(new Error(`server error ${msg.readUInt16BE(2)}: ${msg.subarray(4).toString()}`));
      } else if (op === 6) {
        const fields = msg.subarray(2).toString().split("\0");
        for (let i = 0; i + 1 < fields.length; i += 2) {
          if (fields[i] === "blksize") size = Number(fields[i + 1]);
          if (fields[i] === "windowsize") window = Number(fields[i + 1]);
        }
        ack(0);
      } else if (op === 3) {
        const block = msg.readUInt16BE(2);
        if (block !== ((received + 1) & 0xffff)) return ack(received & 0xffff);
        received++;
        sinceAck++;
        chunks.push(Buffer.from(msg.subarray(4)));
        if (msg.length - 4 < size) {
          clearTimeout(timer);
          const final = Buffer.from([0, 4, (received >> 8) & 0xff, received & 0xff]);
          socket.send(final, server, "127.0.0.1", () => socket.close());
          resolve(Buffer.concat(chunks));
        } else if (sinceAck >= window) ack(received & 0xffff);
      }
    });
    socket.bind(0, "127.0.0.1", () => send(request));
  });
}

async function main() {
  if (process.getuid?.() !== 0) throw new Error("run as root: tftpd-hpa needs to bind and drop privileges");
  const scratch = scratchDir(join(tmpdir(), "bootproof-tftp-bench-"));
  const base = scratch.path;
  const root = join(base, "root");
  const outDir = join(base, "out");
  mkdirSync(root);
  mkdirSync(outDir);
  chmodSync(base, 0o755);
  chmodSync(root, 0o755);
  const content = randomBytes(mib * 1024 * 1024);
  const digest = sha256(content);
  writeFileSync(join(root, "payload.bin"), content, { mode: 0o644 });

  const servers = [];
  try {
    const distServer = await compileServer(join(base, "dist"));
    servers.push(await startBuiltIn(root, distServer), await startTftpdHpa(root), await startFloor(root, distServer));
    // Pinned placements need two CPUs and taskset (util-linux).
    const placeable = availableParallelism() >= 2 && existsSync("/usr/bin/taskset");
    if (!placeable) console.log("one CPU or no taskset: the curl rows run without pinned placements");
    const configs = [];
    for (const placement of placeable ? placements : placements.slice(0, 1)) {
      for (const blksize of [512, 1468]) {
        configs.push({
          name: `curl blksize ${blksize}${placement.label}`,
          placement,
          fetch: (port, out) => curlFetch(port, "payload.bin", out, blksize, placement.curlCpus),
        });
      }
    }
    configs.push({
      name: "own client blksize 1468 windowsize 16",
      placement: placements[0],
      fetch: (port) => windowedFetch(port, "payload.bin", 1468, 16),
    });
    const results = [];
    for (const config of configs) {
      if (placeable) for (const server of servers) await placeServer(server, config.placement.serverCpus);
      const times = Object.fromEntries(servers.map((s) => [s.name, []]));
      for (let round = 0; round < rounds; round++) {
        // Alternate which server goes first each round.
        const order = round % 2 === 0 ? servers : [...servers].reverse();
        for (const server of order) {
          const out = join(outDir, `${server.name}.bin`);
          const started = process.hrtime.bigint();
          const bytes = await config.fetch(server.port, out);
          const seconds = Number(process.hrtime.bigint() - started) / 1e9;
          if (sha256(bytes) !== digest) throw new Error(`${server.name}: ${config.name} returned corrupt data`);
          times[server.name].push(seconds);
        }
      }
      // Median is the headline; best-of shows capability when other load on the shared
      // machine (other agents, QEMU guests) makes single rounds noisy.
      const rate = (name, pick) => mib / pick(times[name]);
      const best = (t) => Math.min(...t);
      const pair = (reference, name) => {
        // Each round's pair, measured moments apart: the median of their ratios and its 95 % interval.
        const { ratio, low, high } = pairedRatio(times[reference], times[name]);
        return { ratio: +ratio.toFixed(3), interval95: [+low.toFixed(3), +high.toFixed(3)] };
      };
      const paired = pair("tftpd-hpa", "built-in");
      const row = {
        config: config.name,
        placement: { serverCpus: config.placement.serverCpus ?? "any", curlCpus: config.placement.curlCpus ?? "any" },
        medianMiBps: {
          builtIn: +rate("built-in", median).toFixed(2),
          tftpdHpa: +rate("tftpd-hpa", median).toFixed(2),
          floor: +rate("floor", median).toFixed(2),
        },
        bestMiBps: { builtIn: +rate("built-in", best).toFixed(2), tftpdHpa: +rate("tftpd-hpa", best).toFixed(2) },
        ratioMedian: +(rate("built-in", median) / rate("tftpd-hpa", median)).toFixed(2),
        pairedRatio: paired.ratio,
        pairedRatioInterval95: paired.interval95,
        ratioBest: +(rate("built-in", best) / rate("tftpd-hpa", best)).toFixed(2),
        // Where node:dgram itself stands, and how close the built-in server comes to it.
        floorToTftpdHpa: pair("tftpd-hpa", "floor"),
        builtInToFloor: pair("floor", "built-in"),
        seconds: times,
      };
      results.push(row);
      const f = (x) => x.toFixed(2).padStart(7);
      const r = (p) => `${p.ratio.toFixed(2)} [95% ${p.interval95[0].toFixed(2)}-${p.interval95[1].toFixed(2)}]`;
      console.log(
        `${config.name}\n  median: built-in ${f(row.medianMiBps.builtIn)} MiB/s, tftpd-hpa ${f(row.medianMiBps.tftpdHpa)} MiB/s, ` +
          `ratio ${row.ratioMedian.toFixed(2)}, paired ${r(paired)} | ` +
          `best: ${f(row.bestMiBps.builtIn)} vs ${f(row.bestMiBps.tftpdHpa)}, ratio ${row.ratioBest.toFixed(2)}\n` +
          `  node:dgram floor ${f(row.medianMiBps.floor)} MiB/s: floor / tftpd-hpa ${r(row.floorToTftpdHpa)}, built-in / floor ${r(row.builtInToFloor)}`,
      );
    }
    const report = { file: `${mib} MiB`, rounds, loadAverage: (await import("node:os")).loadavg(), results };
    console.log(`load average during the run: ${report.loadAverage.map((x) => x.toFixed(2)).join(" ")}`);
    if (jsonOut) writeFileSync(jsonOut, `${JSON.stringify(report, null, 2)}\n`);
    return report;
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
    scratch.remove();
  }
}

main().catch((error) => {
  console.error(`tftp-perf: ${error.message}`);
  process.exitCode = 1;
});
