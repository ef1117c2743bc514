// The NFS server alone in a process, for the test that kills it with SIGKILL: prints its port.
import { startNfsServer } from "../../../harness/nfs/index.js";

const server = await startNfsServer({ exports: [{ root: process.argv[2]! }] });
process.stdout.write(`${server.port} ${server.verifier().toString("hex")}\n`);
