#!/usr/bin/env node
// Bundles the compiled CLI (dist/harness/cli/main.js) into dist/cli/ with code splitting:
// one file instead of hundreds of ESM modules (zod alone is hundreds) makes `bootproof`
// start ~45 ms faster, and start-up counts against every boot (bench/smoke-overhead.mjs).
// Lazily imported parts (servers, fast-check, log-update, execa) stay separate chunks.
import { build } from "esbuild";

await build({
  entryPoints: ["dist/harness/cli/main.js"],
  outdir: "dist/cli",
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  logLevel: "warning",
  // CommonJS dependencies (commander) call require() for Node built-ins.
  banner: {
    js: "import { createRequire as bootproofCreateRequire } from 'node:module'; const require = bootproofCreateRequire(import.meta.url);",
  },
});
