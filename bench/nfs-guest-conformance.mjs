#!/usr/bin/env node
// POSIX operations over NFS as a real client does them: a TCG guest's Linux 6.1 NFS client
// mounts the export as its root (the probe's nfs_root, like ironic-nfs) and runs
// firmware/probe/nfs-suite.sh on it, once against bootproof's built-in server and once against
// nfs-ganesha (VFS), each with a fresh export. Prints which operation passed on which server
// and exits 1 when an operation passes on ganesha but fails on the built-in server.
//
//   npm run build && node bench/nfs-guest-conformance.mjs [--json FILE]
//
// The guest reaches each server through QEMU guest forwards at 10.0.2.100 (NFS on 2049, MOUNT
// on ganesha's own port), as ironic-nfs does; both mount with vers=3,proto=tcp and no locks.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { startBuiltIn, startGanesha } from "./lib/nfs-servers.mjs";

const dist = new URL("../dist/", import.meta.url);
const { prepareMachine } = await import(new URL("harness/boot/prepare.js", dist));
const { runBoot } = await import(new URL("harness/boot/run-boot.js", dist));

const { values: args } = parseArgs({ options: { json: { type: "string" } } });
const GUEST_SERVER = "10.0.2.100";
const GUEST_MOUNT_PORT = 20048;

async function suiteOn(server, work) {
  const mountPort = server.mountPort ?? server.nfsPort;
  const guestMountPort = server.mountPort ? GUEST_MOUNT_PORT : 2049;
  const forwards = [{ guestAddress: GUEST_SERVER, guestPort: 2049, hostPort: server.nfsPort }];
  if (server.mountPort) forwards.push({ guestAddress: GUEST_SERVER, guestPort: GUEST_MOUNT_PORT, hostPort: mountPort });
  const options = `vers=3,proto=tcp,port=2049,mountport=${guestMountPort},mountproto=tcp`;
  const machine = await prepareMachine({
    machine: {
      name: `nfs-suite-${server.name}`,
      memoryMiB: 512,
      nics: [{ id: "net0", model: "virtio-net-pci", user: { guestForwards: forwards } }],
    },
    directBoot: {
      role: "nfs-suite",
      extraCmdline: `root=/dev/nfs nfsroot=${GUEST_SERVER}:${server.mountPath},${options} ip=dhcp bootproof.nfs_suite=1`,
    },
    extraProbeModules: ["nfsv3"],
  });
  const started = Date.now();
  const result = await runBoot(machine, { artifactDir: join(work, `boot-${server.name}`), deadlineMs: 900_000 });
  const seconds = (Date.now() - started) / 1000;
  if (result.status !== "observed")
    throw new Error(`${server.name}: the guest did not report (${result.status}): ${result.error ?? ""}`);
  const nfsRoot = result.observation.nfsRoot;
  if (!nfsRoot?.suite) throw new Error(`${server.name}: no suite result: ${JSON.stringify(nfsRoot)}`);
  return { suite: nfsRoot.suite, seconds };
}

const work = await mkdtemp(join(tmpdir(), "bootproof-nfs-guest-"));
const results = {};
try {
  for (const start of [startBuiltIn, startGanesha]) {
    const root = await mkdtemp(join(work, "export-"));
    const server = await start(root, work);
    try {
      results[server.name] = await suiteOn(server, work);
      console.error(`${server.name}: suite ran in ${results[server.name].seconds.toFixed(1)} s (boot included)`);
    } finally {
      await server.stop();
    }
  }
} finally {
  await rm(work, { recursive: true, force: true });
}

const ops = results["built-in"].suite.map((r) => r.op);
const resultOf = (name, op) => results[name].suite.find((x) => x.op === op);
const verdict = (name, op) => {
  const r = resultOf(name, op);
  return r ? (r.ok ? "pass" : `FAIL: ${r.detail}`) : "not run";
};
// What each operation took in the guest (its caches dropped between steps, so every check
// goes to the server): where one server's suite is slower than the other's.
const took = (name, op) => {
  const ms = resultOf(name, op)?.ms;
  return ms === undefined ? "" : `${ms} ms`;
};
console.log("| operation (guest Linux 6.1 NFS client) | built-in | ganesha | built-in time | ganesha time |");
console.log("|---|---|---|---|---|");
let regressions = 0;
for (const op of ops) {
  const builtIn = verdict("built-in", op);
  const ganesha = verdict("ganesha", op);
  if (ganesha === "pass" && builtIn !== "pass") regressions++;
  console.log(`| ${op.replaceAll("_", " ")} | ${builtIn} | ${ganesha} | ${took("built-in", op)} | ${took("ganesha", op)} |`);
}
if (args.json) await writeFile(args.json, `${JSON.stringify(results, null, 2)}\n`);
if (regressions) console.log(`${regressions} operation(s) pass on ganesha and fail on the built-in server`);
process.exit(regressions ? 1 : 0);
