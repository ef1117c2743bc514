// A run as one self-contained HTML page (no script, no network): the case table with verdicts
// and properties; per boot a timeline of its console milestones with host timestamps, the
// console tail and the observation; for property runs the counterexamples, their shrink steps
// and replay commands; links to every artifact. renderHtml is pure; writeHtmlReport reads the
// boots' artifacts (console.log, observation.json) to fill it in.
import { readdir, readFile, writeFile } from "node:fs/promises";
import { join, relative } from "node:path";
import type { BootSummary, CaseResult } from "../run/run-case.js";
import type { Counterexample, RunSummary } from "../run/run-scenario.js";
import { escapeMarkup } from "./escape.js";

/** A console milestone: the first line that shows the boot reached it. */
export interface Milestone {
  name: string;
  atMs: number;
  line: string;
}

export interface BootDetail {
  milestones: Milestone[];
  consoleTail: string[];
  observation?: string;
  artifacts: string[];
}

/** Milestones in boot order; the first console line matching each one counts. */
const MILESTONES: Array<[string, RegExp]> = [
  ["firmware", /SeaBIOS \(version|BdsDxe|UEFI|Press ESC in \d+ seconds/],
  ["iPXE", /iPXE \d|iPXE initialising/],
  ["DHCP", /Configuring \(net\d|DHCP \(net\d/],
  ["script", /\[script\]/],
  ["SAN attach", /Registered SAN device|Booting from SAN device/],
  ["loader", /^(SYSLINUX|ISOLINUX|EXTLINUX|GNU GRUB|Loading \S+\.\.\.|Welcome to GRUB)/],
  ["kernel", /Linux version \d/],
  ["probe", /^BOOTPROOF-PROBE start/],
  ["observation", /BOOTPROOF-OBSERVATION /],
  ["power off", /reboot: Power down|reboot: Restarting system/],
];

const CONSOLE_LINE = /^\[\s*(\d+\.\d+)\]\s?(.*)$/;
const TAIL_LINES = 30;
const OBSERVATION_CHARS = 6000;

/** Milestones and the tail of a console.log written by bootproof ("[   5.390] text"). */
export function parseConsoleLog(text: string): { milestones: Milestone[]; tail: string[] } {
  const milestones: Milestone[] = [];
  const seen = new Set<string>();
  const lines = text.split(/\r?\n/).filter((l) => l.length > 0);
  for (const raw of lines) {
    const match = CONSOLE_LINE.exec(raw);
    if (!match) continue;
    const atMs = Math.round(Number(match[1]) * 1000);
    const line = match[2] ?? "";
    for (const [name, pattern] of MILESTONES) {
      if (seen.has(name) || !pattern.test(line)) continue;
      seen.add(name);
      milestones.push({ name, atMs, line: line.slice(0, 160) });
    }
  }
  return { milestones: milestones.sort((a, b) => a.atMs - b.atMs), tail: lines.slice(-TAIL_LINES) };
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

const STYLE = `
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}
h1{font-size:1.4em}h2{font-size:1.15em;margin-top:2em}h3{font-size:1em}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:.25em .5em;text-align:left;vertical-align:top}
.pass{color:#0a7d28;font-weight:600}.fail{color:#c0152f;font-weight:600}.infra-error,.timeout{color:#a05a00;font-weight:600}
pre{background:#f6f6f6;padding:.5em;overflow-x:auto;font-size:12px;max-height:28em}
.timeline{position:relative;height:2.6em;border-left:1px solid #999;border-right:1px solid #999;background:#fafafa;margin:.4em 0 1.6em}
.milestone{position:absolute;top:0;height:100%;border-left:2px solid #3465a4}
.milestone span{position:absolute;top:2.7em;font-size:11px;white-space:nowrap;transform:rotate(0)}
.bar{position:absolute;top:.9em;height:.8em;background:#9bb7e0}
code{font-size:12px}`;

function timeline(boot: BootSummary, detail: BootDetail | undefined): string {
  const total = Math.max(boot.durationMs, ...(detail?.milestones.map((m) => m.atMs) ?? [0]), 1);
  const marks = (detail?.milestones ?? [])
    .map((m, i) => {
      const left = ((m.atMs / total) * 100).toFixed(2);
      // Alternate label rows so close milestones stay readable.
      const top = i % 2 === 0 ? "2.7em" : "4em";
      return `<div class="milestone" style="left:${left}%" title="${escapeMarkup(m.line)}"><span style="top:${top}">${escapeMarkup(m.name)} ${seconds(m.atMs)}</span></div>`;
    })
    .join("");
  return `<div class="timeline" aria-label="timeline of boot ${escapeMarkup(boot.name)}"><div class="bar" style="left:0;width:100%"></div>${marks}</div>`;
}

function milestoneTable(detail: BootDetail | undefined): string {
  if (!detail?.milestones.length) return "<p>No console milestone was reached.</p>";
  const rows = detail.milestones
    .map(
      (m) => `<tr><td>${escapeMarkup(m.name)}</td><td>${seconds(m.atMs)}</td><td><code>${escapeMarkup(m.line)}</code></td></tr>`,
    )
    .join("");
  return `<table><tr><th>milestone</th><th>host time since QEMU start</th><th>console line</th></tr>${rows}</table>`;
}

function bootSection(boot: BootSummary, detail: BootDetail | undefined, reportDir: string): string {
  const link = (name: string) =>
    `<a href="${escapeMarkup(relative(reportDir, join(boot.artifactDir, name)))}">${escapeMarkup(name)}</a>`;
  return [
    `<h3>boot ${escapeMarkup(boot.name)}: <span class="${boot.status === "observed" ? "pass" : "fail"}">${escapeMarkup(boot.status)}</span> in ${seconds(boot.durationMs)}, reached ${escapeMarkup(boot.phase)}</h3>`,
    boot.detail ? `<pre>${escapeMarkup(boot.detail)}</pre>` : "",
    timeline(boot, detail),
    milestoneTable(detail),
    detail?.consoleTail.length
      ? `<details open><summary>console tail</summary><pre>${escapeMarkup(detail.consoleTail.join("\n"))}</pre></details>`
      : "",
    detail?.observation ? `<details><summary>observation</summary><pre>${escapeMarkup(detail.observation)}</pre></details>` : "",
    detail?.artifacts.length ? `<p>artifacts: ${detail.artifacts.map(link).join(" · ")}</p>` : "",
  ].join("\n");
}

function caseSection(result: CaseResult, details: Record<string, BootDetail>, reportDir: string): string {
  const props = result.properties
    .map(
      (p) =>
        `<tr><td class="${p.ok ? "pass" : "fail"}">${p.ok ? "pass" : "fail"}</td><td>${escapeMarkup(p.layer)}</td><td>${escapeMarkup(p.name)}</td><td>${escapeMarkup(p.message ?? "")}</td></tr>`,
    )
    .join("");
  return [
    `<h2 id="${escapeMarkup(result.caseId)}">${escapeMarkup(result.caseId)}: <span class="${result.verdict}">${result.verdict}</span> (${seconds(result.durationMs)})</h2>`,
    result.message ? `<pre>${escapeMarkup(result.message)}</pre>` : "",
    props ? `<table><tr><th>verdict</th><th>layer</th><th>property</th><th>message</th></tr>${props}</table>` : "",
    `<details><summary>input${result.inputRedacted ? " (credentials redacted)" : ""}</summary><pre>${escapeMarkup(JSON.stringify(result.input, null, 2))}</pre></details>`,
    ...result.boots.map((b) => bootSection(b, details[b.artifactDir], reportDir)),
  ].join("\n");
}

function counterexampleSection(title: string, c: Counterexample): string {
  return [
    `<h3>${escapeMarkup(title)}</h3>`,
    `<p>case <a href="#${escapeMarkup(c.caseId)}">${escapeMarkup(c.caseId)}</a>, after ${c.shrinkSteps} shrink steps (seed ${c.seed}, path <code>${escapeMarkup(c.path)}</code>)</p>`,
    `<pre>${escapeMarkup(JSON.stringify(c.input, null, 2))}</pre>`,
    `<p>replay: <code>${escapeMarkup(c.replayCommand)}</code></p>`,
  ].join("\n");
}

export function renderHtml(summary: RunSummary, details: Record<string, BootDetail>, reportDir: string): string {
  const rows = summary.cases
    .map((c) => {
      const failed = c.properties.filter((p) => !p.ok).map((p) => p.name);
      const boots = c.boots.map((b) => `${b.name}: ${b.status} ${seconds(b.durationMs)}`).join(", ");
      return `<tr><td class="${c.verdict}">${c.verdict}</td><td><a href="#${escapeMarkup(c.caseId)}">${escapeMarkup(c.caseId)}</a></td><td>${seconds(c.durationMs)}</td><td>${escapeMarkup(boots)}</td><td>${escapeMarkup(failed.join(", "))}</td></tr>`;
    })
    .join("");
  const counts = ["pass", "fail", "infra-error", "timeout"].map(
    (v) => `${summary.cases.filter((c) => c.verdict === v).length} ${v}`,
  );
  const sweep = summary.staticSweep;
  const kinds = (sweep?.failureKinds ?? [])
    .map((k) => `<tr><td>${k.count}</td><td>${escapeMarkup(k.property)}</td><td>${escapeMarkup(k.example)}</td></tr>`)
    .join("");
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>bootproof: ${escapeMarkup(summary.scenario)}</title><style>${STYLE}</style></head>
<body>
<h1>bootproof: ${escapeMarkup(summary.scenario)} <span class="${summary.verdict}">${summary.verdict}</span></h1>
<p>${summary.mode}${summary.seed !== undefined ? `, seed ${summary.seed}` : ""}${summary.shard ? `, shard ${summary.shard.index}/${summary.shard.count}` : ""}: ${counts.join(", ")} in ${seconds(summary.durationMs)}</p>
<table><tr><th>verdict</th><th>case</th><th>time</th><th>boots</th><th>failed properties</th></tr>${rows}</table>
${sweep ? `<h2>Boot-free sweep</h2><p>${sweep.runs} inputs in ${seconds(sweep.durationMs)} (${sweep.casesPerSecond} cases/s)${sweep.failedInputs ? `; ${sweep.failedInputs} failed` : ""}</p>${kinds ? `<table><tr><th>count</th><th>property</th><th>first message</th></tr>${kinds}</table>` : ""}` : ""}
${summary.counterexample ? `<h2>Counterexamples</h2>${counterexampleSection("counterexample", summary.counterexample)}` : ""}
${(summary.counterexamples ?? []).map((c) => counterexampleSection(`counterexample for ${c.property}: ${c.kind}`, c)).join("\n")}
${summary.cases.map((c) => caseSection(c, details, reportDir)).join("\n")}
</body></html>
`;
}

/** Reads each boot's console.log and observation.json, then writes `<artifactsDir>/report.html`. */
export async function writeHtmlReport(summary: RunSummary, reportDir = summary.artifactsDir): Promise<string> {
  const details: Record<string, BootDetail> = {};
  for (const result of summary.cases) {
    for (const boot of result.boots) {
      const consoleText = await readFile(join(boot.artifactDir, "console.log"), "utf8").catch(() => "");
      const { milestones, tail } = parseConsoleLog(consoleText);
      const observation = await readFile(join(boot.artifactDir, "observation.json"), "utf8").catch(() => undefined);
      const artifacts = (await readdir(boot.artifactDir).catch(() => [] as string[])).sort();
      details[boot.artifactDir] = {
        milestones,
        consoleTail: tail,
        ...(observation ? { observation: observation.slice(0, OBSERVATION_CHARS) } : {}),
        artifacts,
      };
    }
  }
  const path = join(reportDir, "report.html");
  await writeFile(path, renderHtml(summary, details, reportDir));
  return path;
}
