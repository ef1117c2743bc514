// The two NFSv3 servers the NFS benches compare, on loopback: bootproof's (compiled
// harness/nfs in a child process: run `npm run build` first) and nfs-ganesha 4.3 with its VFS
// backend, which needs a port mapper: `rpcbind -w` is started when none answers, and stopped.
import { execFile, spawn } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { startServerChild, superviseUntilReady, undoOnInterrupt } from "./children.mjs";

const exec = promisify(execFile);
const repo = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const GANESHA = "/usr/bin/ganesha.nfsd";

export async function startBuiltIn(root) {
  const dist = join(repo, "dist/harness/nfs/index.js");
  if (!existsSync(dist)) throw new Error(`${dist} is missing: run \`npm run build\` first`);
  const code = `
    const { startNfsServer } = await import(${JSON.stringify(pathToFileURL(dist).href)});
    const server = await startNfsServer({ exports: [{ root: ${JSON.stringify(root)} }] });
    process.stdout.write(JSON.stringify({ port: server.port }) + "\\n");
    process.on("SIGTERM", () => server.close().then(() => process.exit(0)));`;
  const { port, stop, pid } = await startServerChild("built-in NFS server", code);
  return {
    name: "built-in",
    pid,
    root,
    url: (file) => `nfs://127.0.0.1/export/${file}?version=3&nfsport=${port}&mountport=${port}`,
    nfsPort: port,
    mountPort: undefined,
    mountPath: "/export",
    stop,
  };
}

async function portMapperAnswers() {
  try {
    await exec("rpcinfo", ["-p", "127.0.0.1"]);
    return true;
  } catch {
    return false;
  }
}

export async function startGanesha(root, work) {
  if (!existsSync(GANESHA))
    throw new Error(`${GANESHA} not found: apt-get install -y --no-install-recommends nfs-ganesha nfs-ganesha-vfs`);
  let rpcbindStarted = false;
  if (!(await portMapperAnswers())) {
    await exec("rpcbind", ["-w"]);
    rpcbindStarted = true;
  }
  // rpcbind -w detaches: nothing but this stops it.
  const pkillRpcbind = () => exec("pkill", ["-x", "rpcbind"]).catch(() => undefined);
  const forgetRpcbind = rpcbindStarted ? undoOnInterrupt(pkillRpcbind) : () => {};
  const stopRpcbind = async () => {
    if (!rpcbindStarted) return;
    forgetRpcbind();
    await pkillRpcbind();
  };
  // MOUNT, NLM and RQUOTA take the next three ports.
  const nfsPort = 20490 + Math.floor(Math.random() * 500) * 4;
  const conf = join(work, "ganesha.conf");
  writeFileSync(
    conf,
    `NFS_CORE_PARAM { NFS_Port = ${nfsPort}; MNT_Port = ${nfsPort + 1}; NLM_Port = ${nfsPort + 2}; Rquota_Port = ${nfsPort + 3};
  Bind_addr = 127.0.0.1; Protocols = 3; Enable_NLM = false; Enable_RQUOTA = false; Enable_UDP = false; }
NFSV4 { Graceless = true; }
EXPORT { Export_Id = 1; Path = ${root}; Pseudo = /export; Access_Type = RW; Squash = No_Root_Squash; Protocols = 3;
  Transports = TCP; SecType = sys; FSAL { Name = VFS; } }
LOG { Default_Log_Level = WARN; }
`,
  );
  const child = spawn(GANESHA, ["-F", "-f", conf, "-L", join(work, "ganesha.log"), "-p", join(work, "ganesha.pid")], {
    stdio: ["ignore", "inherit", "inherit"],
  });
  const url = (file) => `nfs://127.0.0.1${root}/${file}?version=3&nfsport=${nfsPort}&mountport=${nfsPort + 1}`;
  const answers = async () => {
    const until = Date.now() + 20_000;
    for (;;) {
      try {
        await exec("nfs-ls", [url("").replace(/\/\?/, "?")]);
        return;
      } catch (error) {
        if (Date.now() > until) throw new Error(`ganesha did not answer within 20 s: ${error.message}`);
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  };
  let stopGanesha;
  try {
    stopGanesha = await superviseUntilReady(child, answers);
  } catch (error) {
    await stopRpcbind();
    throw error;
  }
  const stop = async () => {
    await stopGanesha();
    await stopRpcbind();
  };
  return {
    name: "ganesha",
    pid: child.pid,
    root,
    url,
    nfsPort,
    mountPort: nfsPort + 1,
    mountPath: root,
    stop,
  };
}
