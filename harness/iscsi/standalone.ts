// Runs one target in its own process from a JSON description (the first argument), prints
// `{"listening":{"host":..,"port":..,"portals":[{"host":..,"port":..},..]}}` on stdout once
// ready and closes on SIGTERM/SIGINT.
// Benches and the crash-durability test drive it as a child process:
//   node --import tsx harness/iscsi/standalone.ts '{"port":0,"targets":[...]}'
// (not the tsx CLI: its wrapper process would survive a SIGKILL meant for the target)
import { startIscsiTarget } from "./target.js";

const raw = process.argv[2];
if (!raw) {
  console.error(
    'usage: standalone.ts \'{"targets":[{"iqn":"iqn.2024-01.x:y","luns":[{"lun":0,"backend":{"kind":"file","path":"disk.img"}}]}]}\'',
  );
  process.exit(2);
}
const options = JSON.parse(raw);
if (process.env.BOOTPROOF_ISCSI_LOG) options.logger = (e: unknown) => process.stderr.write(`${JSON.stringify(e)}\n`);
startIscsiTarget(options).then(
  (handle) => {
    const portals = handle.portals.map((p) => ({ host: p.host, port: p.port }));
    process.stdout.write(`${JSON.stringify({ listening: { host: handle.host, port: handle.port, portals } })}\n`);
    const stop = (): void => {
      handle.close().then(() => process.exit(0));
    };
    process.on("SIGTERM", stop);
    process.on("SIGINT", stop);
  },
  (err: Error) => {
    console.error(err.message);
    process.exit(1);
  },
);
