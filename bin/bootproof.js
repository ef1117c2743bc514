#!/usr/bin/env node
// Entry point: runs the bundled CLI (built by `npm run build`, which `npm ci` runs via `prepare`).
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const compiled = fileURLToPath(new URL("../dist/cli/main.js", import.meta.url));
if (!existsSync(compiled)) {
  process.stderr.write("bootproof: dist/ is missing; run `npm run build` (npm ci does it automatically)\n");
  process.exit(2);
}
const { main } = await import(compiled);
await main(process.argv);
