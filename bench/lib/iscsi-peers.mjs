// Starts the two iSCSI targets the benches compare on loopback: Debian's tgtd (reference)
// and bootproof's built-in target (run from source with tsx, in its own process so both
// targets pay the same process and socket costs). Each returns { url, stop() }.
import { execFileSync, spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { supervise } from "./children.mjs";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

export function requireTool(name, debPackage) {
  try {
    execFileSync("sh", ["-c", `command -v ${name}`], { stdio: "pipe" });
  } catch {
    throw new Error(`${name} not found: install it with apt-get install -y ${debPackage} (bootproof doctor --fix does this)`);
  }
}

/** A backing file of `sizeMiB` filled with a deterministic non-zero pattern. */
export function makeImage(file, sizeMiB) {
  const chunk = Buffer.alloc(1 << 20);
  for (let i = 0; i < chunk.length; i += 4) chunk.writeUInt32LE((i * 2654435761) >>> 0, i);
  const fd = fs.openSync(file, "w");
  try {
    for (let i = 0; i < sizeMiB; i++) fs.writeSync(fd, chunk);
  } finally {
    fs.closeSync(fd);
  }
}

async function waitForPort(port, ms) {
  const until = Date.now() + ms;
  for (;;) {
    const ok = await new Promise((resolve) => {
      const s = net.connect(port, "127.0.0.1", () => {
        s.destroy();
        resolve(true);
      });
      s.once("error", () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > until) throw new Error(`nothing listens on 127.0.0.1:${port} after ${ms} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * tgtd in the foreground on free portals (`portals` of them, all in its one portal group) and
 * a private control port. `urls` names the LU once through each portal.
 */
export async function startTgtd({ file, iqn, lun = 1, portals = 1 }) {
  requireTool("tgtd", "tgt");
  const port = await freePort();
  const ports = [port];
  const control = 20000 + (port % 10000);
  const child = spawn("tgtd", ["-f", "--iscsi", `portal=127.0.0.1:${port}`, "--control-port", String(control)], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  const stop = supervise(child);
  let stderr = "";
  child.stderr.on("data", (d) => {
    stderr += d;
  });
  try {
    await waitForPort(port, 5000);
    const adm = (...args) => execFileSync("tgtadm", ["-C", String(control), "--lld", "iscsi", ...args], { stdio: "pipe" });
    adm("--op", "new", "--mode", "target", "--tid", "1", "-T", iqn);
    adm("--op", "new", "--mode", "logicalunit", "--tid", "1", "--lun", String(lun), "-b", file);
    adm("--op", "bind", "--mode", "target", "--tid", "1", "-I", "ALL");
    for (let i = 1; i < portals; i++) {
      const extra = await freePort();
      adm("--op", "new", "--mode", "portal", "--param", `portal=127.0.0.1:${extra}`);
      await waitForPort(extra, 5000);
      ports.push(extra);
    }
  } catch (err) {
    await stop();
    throw new Error(`tgtd did not start: ${err.message}\n${stderr}`);
  }
  const urls = ports.map((p) => `iscsi://127.0.0.1:${p}/${iqn}/${lun}`);
  return {
    name: "tgtd",
    url: urls[0],
    urls,
    stop,
  };
}

/**
 * The built-in target in a child process (node --import tsx runs the TypeScript sources),
 * listening on `portals` free loopback ports; `urls` names the LU once through each portal.
 */
export async function startBuiltin({ file, iqn, lun = 1, portals = 1 }) {
  if (!fs.existsSync(path.join(ROOT, "node_modules/tsx"))) throw new Error(`tsx missing: run npm install in ${ROOT}`);
  const spec = {
    portals: Array.from({ length: portals }, () => ({ host: "127.0.0.1", port: 0 })),
    targets: [{ iqn, luns: [{ lun, backend: { kind: "file", path: file } }] }],
  };
  // One process (no tsx CLI wrapper), so stopping it stops the target itself.
  const child = spawn(
    process.execPath,
    ["--import", "tsx", path.join(ROOT, "harness/iscsi/standalone.ts"), JSON.stringify(spec)],
    {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  const stop = supervise(child);
  let stderr = "";
  child.stderr.on("data", (d) => {
    stderr += d;
  });
  const listening = await new Promise((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => {
      void stop();
      reject(new Error(`built-in target did not start within 20 s\n${stderr}`));
    }, 20000);
    child.stdout.on("data", (d) => {
      out += d;
      const line = out.split("\n").find((l) => l.includes('"listening"'));
      if (line) {
        clearTimeout(timer);
        resolve(JSON.parse(line).listening);
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`built-in target exited with ${code}\n${stderr}`));
    });
  });
  const urls = listening.portals.map((p) => `iscsi://127.0.0.1:${p.port}/${iqn}/${lun}`);
  return {
    name: "built-in",
    url: urls[0],
    urls,
    stop,
  };
}
