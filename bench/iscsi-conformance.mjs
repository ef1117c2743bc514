#!/usr/bin/env node
// Conformance, side by side: libiscsi's iscsi-test-cu (all suites, destructive tests
// allowed) against tgtd and against the built-in target, on equal 128 MiB backing files.
// Each target is given the same two URLs: the LU through its first and its second portal,
// so the multipath suite (MultipathIO) and the two-initiator reservation tests run.
//
// Verdicts are counted per distinct test (suite.test; iscsi-test-cu runs some suites in
// several families): a test is "skipped" when it prints [SKIPPED] before its own verdict
// (CUnit counts it as passed), "failed" when any run of it failed. Prints both summaries and
// every test whose verdict differs, and exits non-zero unless the built-in target passes
// every test tgtd passes, fails none, and runs and passes MultipathIO.
//   node bench/iscsi-conformance.mjs [--keep]    (needs root for tgtd)
import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { scratchDir } from "./lib/children.mjs";
import { makeImage, requireTool, startBuiltin, startTgtd } from "./lib/iscsi-peers.mjs";

requireTool("iscsi-test-cu", "libiscsi-bin");
const scratch = scratchDir(path.join(os.tmpdir(), "bootproof-iscsi-conf-"), { keep: process.argv.includes("--keep") });
const dir = scratch.path;
const IQN_TGT = "iqn.2024-01.org.bootproof.bench:tgtd";
const IQN_BP = "iqn.2024-01.org.bootproof.bench:builtin";

function runSuite(urls) {
  return new Promise((resolve) => {
    // -v prints each test name and its verdict; 2>&1 keeps [SKIPPED] lines next to their test.
    execFile(
      "sh",
      ["-c", 'exec iscsi-test-cu --dataloss -v "$@" 2>&1', "iscsi-test-cu", ...urls],
      { maxBuffer: 256 << 20, timeout: 30 * 60_000 },
      (_err, stdout) => {
        resolve(stdout);
      },
    );
  });
}

const RANK = { passed: 0, skipped: 1, failed: 2 };

/**
 * Per-test verdicts from CUnit's verbose output. A test's own messages sit between its
 * "Test: NAME ..." header and the "passed"/"FAILED" that starts a line (or follows the
 * header's "..."); [SKIPPED] lines after that come from the suite's cleanup (it clears
 * reservations) and belong to no test.
 */
export function parse(output) {
  const verdicts = new Map();
  const suites = [...output.matchAll(/^Suite: (\S+)/gm)].map((m) => ({ at: m.index, name: m[1] }));
  const headers = [...output.matchAll(/Test: (\S+) \.\.\./g)];
  headers.forEach((m, i) => {
    const start = m.index + m[0].length;
    const end = i + 1 < headers.length ? headers[i + 1].index : output.length;
    const body = output.slice(start, end);
    const v = /^(passed|FAILED)/m.exec(body);
    if (!v) return;
    const suite = suites.filter((x) => x.at < m.index).at(-1)?.name ?? "?";
    const verdict = v[1] === "FAILED" ? "failed" : body.slice(0, v.index).includes("[SKIPPED]") ? "skipped" : "passed";
    const name = `${suite}.${m[1]}`;
    const seen = verdicts.get(name);
    if (!seen || RANK[verdict] > RANK[seen]) verdicts.set(name, verdict);
  });
  const sum = output.match(/tests\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)/);
  const cunit = sum ? { total: +sum[1], ran: +sum[2], passed: +sum[3], failed: +sum[4], inactive: +sum[5] } : undefined;
  return { verdicts, cunit };
}

const results = {};
try {
  for (const [name, start, iqn] of [
    ["tgtd", startTgtd, IQN_TGT],
    ["built-in", startBuiltin, IQN_BP],
  ]) {
    const file = path.join(dir, `${name}.img`);
    makeImage(file, 128);
    const target = await start({ file, iqn, portals: 2 });
    const t0 = Date.now();
    try {
      const out = await runSuite(target.urls);
      fs.writeFileSync(path.join(dir, `${name}.log`), out);
      results[name] = { ...parse(out), seconds: (Date.now() - t0) / 1000, urls: target.urls };
    } finally {
      await target.stop();
    }
  }
} finally {
  scratch.remove();
  if (process.argv.includes("--keep")) console.log(`logs kept in ${dir}`);
}

const count = (v, what) => [...v.values()].filter((x) => x === what).length;
console.log("\niscsi-test-cu, two URLs per target (the LU through two portals); verdicts per distinct test\n");
console.log("| target | distinct tests | passed | skipped | failed | CUnit runs (passed / failed) | wall s |");
console.log("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
for (const [name, r] of Object.entries(results)) {
  const v = r.verdicts;
  const cunit = r.cunit ? `${r.cunit.ran} (${r.cunit.passed} / ${r.cunit.failed})` : "?";
  console.log(
    `| ${name} | ${v.size} | ${count(v, "passed")} | ${count(v, "skipped")} | ${count(v, "failed")} | ${cunit} | ${r.seconds.toFixed(1)} |`,
  );
}
const a = results.tgtd.verdicts;
const b = results["built-in"].verdicts;
const names = [...new Set([...a.keys(), ...b.keys()])].sort();
const differ = names.filter((n) => a.get(n) !== b.get(n));
console.log(`\nTests whose verdict differs (${differ.length}):\n`);
console.log("| test | tgtd | built-in |");
console.log("| --- | --- | --- |");
for (const n of differ) console.log(`| ${n} | ${a.get(n) ?? "-"} | ${b.get(n) ?? "-"} |`);

const missed = names.filter((n) => a.get(n) === "passed" && b.get(n) !== "passed");
const failedBuiltin = names.filter((n) => b.get(n) === "failed");
const multipath = names.filter((n) => n.startsWith("MultipathIO."));
const multipathOk = multipath.length > 0 && multipath.every((n) => b.get(n) === "passed");
console.log("");
console.log(`tgtd passes, built-in does not: ${missed.length ? missed.join(", ") : "none"}`);
console.log(`built-in failures: ${failedBuiltin.length ? failedBuiltin.join(", ") : "none"}`);
console.log(
  `MultipathIO on the built-in target: ${multipath.map((n) => `${n.slice("MultipathIO.".length)} ${b.get(n)}`).join(", ") || "did not run"}`,
);
const ok = missed.length === 0 && failedBuiltin.length === 0 && multipathOk;
console.log(
  `\nverdict: ${ok ? "the built-in target passes every test tgtd passes, fails none, and passes MultipathIO" : "the built-in target falls short (see above)"}`,
);
process.exit(ok ? 0 : 1);
