#!/usr/bin/env node
// Bundles the compiled CLI (dist/harness/cli/main.js) into dist/cli/ with code splitting:
// one file instead of hundreds of ESM modules (zod alone is hundreds) makes `bootproof`
// start ~45 ms faster, and start-up counts against every boot (bench/smoke-overhead.mjs).
// Lazily imported parts (servers, fast-check, log-update, execa) stay separate chunks.
import { rmSync } from "node:fs";
import { build } from "esbuild";

// Chunk names carry content hashes: without a clean start, old chunks pile up.
rmSync("dist/cli", { recursive: true, force: true });

await build({
  entryPoints: ["dist/harness/cli/main.js"],
  outdir: "dist/cli",
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  logLevel: "warning",
  // Less source for V8 to scan at start-up (≈15 ms of ≈65 ms of imports, measured). Names
  // are kept so stack traces stay readable; the source map (loaded only with
  // --enable-source-maps) maps them back to the TypeScript.
  minifyWhitespace: true,
  minifySyntax: true,
  sourcemap: "linked",
  // CommonJS dependencies (commander) call require() for Node built-ins.
  banner: {
    js: "import { createRequire as bootproofCreateRequire } from 'node:module'; const require = bootproofCreateRequire(import.meta.url);",
  },
});
