#!/usr/bin/env node
// Entry point: runs the bundled CLI (built by `npm run build`, which `npm ci` runs via `prepare`).
// Usually started by bin/bootproof (the launcher); `node bin/bootproof.js` works as well.
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

// The launcher kept node from loading the CA bundle; children get the variable back.
if (process.env.BOOTPROOF_NODE_EXTRA_CA_CERTS !== undefined) {
  process.env.NODE_EXTRA_CA_CERTS = process.env.BOOTPROOF_NODE_EXTRA_CA_CERTS;
  delete process.env.BOOTPROOF_NODE_EXTRA_CA_CERTS;
}
const compiled = fileURLToPath(new URL("../dist/cli/main.js", import.meta.url));
if (!existsSync(compiled)) {
  process.stderr.write("bootproof: dist/ is missing; run `npm run build` (npm ci does it automatically)\n");
  process.exit(2);
}
const { main } = await import(compiled);
await main(process.argv);
