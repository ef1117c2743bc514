#!/usr/bin/env node
// Throughput, side by side: libiscsi's iscsi-perf against tgtd and the built-in target on
// loopback, equal 512 MiB backing files (page-cache warm), three workloads, runs
// alternating between the targets so machine noise hits both alike. Reports the median
// MB/s of each and the ratio built-in / tgtd; exits non-zero if any ratio is below 0.8.
//   node bench/iscsi-perf.mjs [--seconds N] [--rounds N]    (needs root for tgtd)
import { execFile } from "node:child_process";
import os from "node:os";
import path from "node:path";
import { scratchDir } from "./lib/children.mjs";
import { makeImage, requireTool, startBuiltin, startTgtd } from "./lib/iscsi-peers.mjs";
import { median } from "./lib/stats.mjs";

requireTool("iscsi-perf", "libiscsi-bin");
const arg = (name, dflt) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const SECONDS = arg("--seconds", 4);
const ROUNDS = arg("--rounds", 5);
const WORKLOADS = [
  { name: "sequential 1 MiB QD8", args: ["-m", "8", "-b", "2048"] },
  { name: "sequential 128 KiB QD32", args: ["-m", "32", "-b", "256"] },
  { name: "random 4 KiB QD32", args: ["-m", "32", "-b", "8", "-r"] },
];

function perf(url, args) {
  return new Promise((resolve, reject) => {
    execFile("iscsi-perf", ["-t", String(SECONDS), ...args, url], { timeout: (SECONDS + 20) * 1000 }, (err, stdout, stderr) => {
      const text = `${stdout}${stderr}`.replace(/\r/g, "\n");
      const all = [...text.matchAll(/iops average (\d+) \((\d+) MB\/s\)/g)];
      if (!all.length)
        return reject(
          new Error(`iscsi-perf ${args.join(" ")} ${url} printed no average: ${err?.message ?? ""}\n${text.slice(-500)}`),
        );
      const last = all[all.length - 1];
      resolve({ iops: Number(last[1]), mbs: Number(last[2]) });
    });
  });
}

const scratch = scratchDir(path.join(os.tmpdir(), "bootproof-iscsi-perf-"));
const dir = scratch.path;
const targets = [];
try {
  const fileT = path.join(dir, "tgtd.img");
  const fileB = path.join(dir, "builtin.img");
  makeImage(fileT, 512);
  makeImage(fileB, 512);
  targets.push(await startTgtd({ file: fileT, iqn: "iqn.2024-01.org.bootproof.bench:tgtd" }));
  targets.push(await startBuiltin({ file: fileB, iqn: "iqn.2024-01.org.bootproof.bench:builtin" }));
  const rows = [];
  for (const w of WORKLOADS) {
    const got = { tgtd: [], "built-in": [] };
    for (let r = 0; r < ROUNDS; r++) {
      const order = r % 2 === 0 ? targets : [...targets].reverse();
      for (const t of order) got[t.name].push(await perf(t.url, w.args));
    }
    const mt = median(got.tgtd.map((x) => x.mbs));
    const mb = median(got["built-in"].map((x) => x.mbs));
    const it = median(got.tgtd.map((x) => x.iops));
    const ib = median(got["built-in"].map((x) => x.iops));
    // Each round runs both targets back to back, so the per-round ratio cancels most of the
    // load other processes put on the machine; the reported ratio is the median of those.
    const paired = got.tgtd.map((t, i) => got["built-in"][i].iops / t.iops);
    rows.push({ name: w.name, mt, mb, it, ib, ratio: median(paired) });
    console.error(
      `${w.name}: tgtd ${got.tgtd.map((x) => x.mbs).join("/")} MB/s, built-in ${got["built-in"].map((x) => x.mbs).join("/")} MB/s`,
    );
  }
  console.log(
    `\niscsi-perf, ${SECONDS} s per run, ${ROUNDS} alternating rounds, medians; ratio = median of per-round built-in/tgtd IOPS ratios\n`,
  );
  console.log("| workload | tgtd MB/s | tgtd IOPS | built-in MB/s | built-in IOPS | built-in / tgtd |");
  console.log("| --- | ---: | ---: | ---: | ---: | ---: |");
  for (const r of rows) console.log(`| ${r.name} | ${r.mt} | ${r.it} | ${r.mb} | ${r.ib} | ${r.ratio.toFixed(2)} |`);
  const worst = Math.min(...rows.map((r) => r.ratio));
  console.log(`\nlowest ratio ${worst.toFixed(2)} (goal >= 0.8, aim >= 1.0)`);
  process.exitCode = worst >= 0.8 ? 0 : 1;
} finally {
  for (const t of targets) await t.stop();
  scratch.remove();
}
