#!/usr/bin/env node
// Conformance, side by side: libiscsi's iscsi-test-cu (all suites, destructive tests
// allowed) against tgtd and against the built-in target, on equal 128 MiB backing files.
// Prints both summaries, the tests whose verdict differs, and exits non-zero when the
// built-in target passes fewer or fails more than tgtd.
//   node bench/iscsi-conformance.mjs [--keep]    (needs root for tgtd)
import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { makeImage, requireTool, startBuiltin, startTgtd } from "./lib/iscsi-peers.mjs";

requireTool("iscsi-test-cu", "libiscsi-bin");
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bootproof-iscsi-conf-"));
const IQN_TGT = "iqn.2024-01.org.bootproof.bench:tgtd";
const IQN_BP = "iqn.2024-01.org.bootproof.bench:builtin";

function runSuite(url) {
  return new Promise((resolve) => {
    // -v prints each test name and its verdict; 2>&1 keeps [SKIPPED] lines next to their test.
    execFile(
      "sh",
      ["-c", 'exec iscsi-test-cu --dataloss -v "$0" 2>&1', url],
      { maxBuffer: 256 << 20, timeout: 30 * 60_000 },
      (_err, stdout) => {
        resolve(stdout);
      },
    );
  });
}

/**
 * Per-test verdicts from CUnit's verbose output. A test's own messages sit between its
 * "Test: NAME ..." header and the "passed"/"FAILED" that ends it; [SKIPPED] lines after that
 * come from suite setup/teardown probes and belong to no test.
 */
function parse(output) {
  const verdicts = new Map();
  const suites = [...output.matchAll(/^Suite: (\S+)/gm)].map((m) => ({ at: m.index, name: m[1] }));
  for (const m of output.matchAll(/Test: (\S+) \.\.\.([\s\S]*?)(passed|FAILED)/g)) {
    const suite = suites.filter((x) => x.at < m.index).at(-1)?.name ?? "?";
    const verdict = m[3] === "FAILED" ? "failed" : /\[SKIPPED\]/.test(m[2]) ? "skipped" : "passed";
    verdicts.set(`${suite}.${m[1]}`, verdict);
  }
  const sum = output.match(/tests\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)/);
  const summary = sum ? { total: +sum[1], ran: +sum[2], passed: +sum[3], failed: +sum[4], inactive: +sum[5] } : undefined;
  return { verdicts, summary };
}

const results = {};
try {
  for (const [name, start, iqn] of [
    ["tgtd", startTgtd, IQN_TGT],
    ["built-in", startBuiltin, IQN_BP],
  ]) {
    const file = path.join(dir, `${name}.img`);
    makeImage(file, 128);
    const target = await start({ file, iqn });
    const t0 = Date.now();
    try {
      const out = await runSuite(target.url);
      fs.writeFileSync(path.join(dir, `${name}.log`), out);
      results[name] = { ...parse(out), seconds: (Date.now() - t0) / 1000 };
    } finally {
      await target.stop();
    }
  }
} finally {
  if (!process.argv.includes("--keep")) fs.rmSync(dir, { recursive: true, force: true });
  else console.log(`logs kept in ${dir}`);
}

const count = (v, what) => [...v.values()].filter((x) => x === what).length;
console.log("\niscsi-test-cu (CUnit counts a [SKIPPED] test as passed; skipped is also shown apart)\n");
console.log("| target | tests | passed (CUnit) | of which skipped | failed | wall s |");
console.log("| --- | ---: | ---: | ---: | ---: | ---: |");
for (const [name, r] of Object.entries(results)) {
  const s = r.summary ?? {
    total: r.verdicts.size,
    passed: r.verdicts.size - count(r.verdicts, "failed"),
    failed: count(r.verdicts, "failed"),
  };
  console.log(`| ${name} | ${s.total} | ${s.passed} | ${count(r.verdicts, "skipped")} | ${s.failed} | ${r.seconds.toFixed(1)} |`);
}
const a = results.tgtd.verdicts;
const b = results["built-in"].verdicts;
const names = [...new Set([...a.keys(), ...b.keys()])].sort();
const differ = names.filter((n) => a.get(n) !== b.get(n));
console.log(`\nTests whose verdict differs (${differ.length}):\n`);
console.log("| test | tgtd | built-in |");
console.log("| --- | --- | --- |");
for (const n of differ) console.log(`| ${n} | ${a.get(n) ?? "-"} | ${b.get(n) ?? "-"} |`);
const st = results.tgtd.summary;
const sb = results["built-in"].summary;
const ok = st && sb && sb.passed >= st.passed && sb.failed <= st.failed;
console.log(
  `\nverdict: built-in ${ok ? "passes at least as many and fails at most as many tests as tgtd" : "is WORSE than tgtd"}`,
);
process.exit(ok ? 0 : 1);
