// Terminal reporter: consumes run events. On a TTY it keeps a live status block (case k of
// N, the boot phase of each running guest); elsewhere (CI logs) it prints one line per event
// that matters. The final table and the replay command are printed in both modes.
import type { BootPhase } from "../../emulator/console.js";
import type { CaseResult } from "../run/run-case.js";
import type { RunEvent, RunSummary } from "../run/run-scenario.js";

const ICON: Record<string, string> = { pass: "PASS", fail: "FAIL", "infra-error": "INFRA", timeout: "TIME" };

/** The sweep's failure kinds the terminal shows (summary.json has them all). */
const MAX_FAILURE_KINDS_SHOWN = 12;

const truncate = (text: string, max: number) => (text.length > max ? `${text.slice(0, max - 1)}…` : text);

export function caseLine(result: CaseResult): string {
  const boots = result.boots
    .map((b) => `${b.name}:${b.status}${b.durationMs ? `/${(b.durationMs / 1000).toFixed(1)}s` : ""}`)
    .join(" ");
  return `${(ICON[result.verdict] ?? result.verdict).padEnd(5)} ${result.caseId.padEnd(24)} ${(result.durationMs / 1000).toFixed(1).padStart(6)} s  ${boots}`;
}

export function renderSummary(summary: RunSummary): string {
  const lines = [
    "",
    `scenario ${summary.scenario} (${summary.mode}${summary.seed !== undefined ? `, seed ${summary.seed}` : ""})`,
  ];
  lines.push("verdict case                        time  boots");
  for (const result of summary.cases) {
    lines.push(caseLine(result));
    if (result.verdict !== "pass" && result.message) {
      for (const l of result.message.split("\n").slice(0, 30)) lines.push(`        ${l}`);
    }
  }
  const counts = ["pass", "fail", "infra-error", "timeout"].map(
    (v) => `${summary.cases.filter((c) => c.verdict === v).length} ${v}`,
  );
  lines.push(`${counts.join(", ")} in ${(summary.durationMs / 1000).toFixed(1)} s; artifacts: ${summary.artifactsDir}`);
  lines.push(`report: ${summary.artifactsDir}/report.html`);
  if (summary.staticSweep) {
    const sweep = summary.staticSweep;
    const failures = sweep.failuresByProperty
      ? `; ${sweep.failedInputs} failed: ${Object.entries(sweep.failuresByProperty)
          .map(([name, count]) => `${name} ×${count}`)
          .join(", ")}`
      : "";
    lines.push(
      `static sweep: ${sweep.runs} inputs in ${(sweep.durationMs / 1000).toFixed(1)} s (${sweep.casesPerSecond} cases/s) before any guest${failures}`,
    );
    const kinds = sweep.failureKinds ?? [];
    if (kinds.length > 0) lines.push(`  ${kinds.length} kind(s) of failure (summary.json lists all), most frequent first:`);
    for (const kind of kinds.slice(0, MAX_FAILURE_KINDS_SHOWN))
      lines.push(`  ×${kind.count} ${kind.property}: ${truncate(kind.example, 300)}`);
  }
  if (summary.counterexample) {
    const c = summary.counterexample;
    lines.push(`counterexample (after ${c.shrinkSteps} shrink steps, case ${c.caseId}):`, `  ${JSON.stringify(c.input)}`);
  }
  const withoutOwn = (summary.staticSweep?.failureKinds?.length ?? 0) - 1 - (summary.counterexamples?.length ?? 0);
  if (summary.counterexample && withoutOwn > 0)
    lines.push(`  (${withoutOwn} kind(s) share another kind's counterexample or were past the limit of shrunk counterexamples)`);
  for (const c of summary.counterexamples ?? []) {
    lines.push(
      `counterexample for ${c.property} (${truncate(c.kind, 160)}), after ${c.shrinkSteps} shrink steps, case ${c.caseId}:`,
      `  ${JSON.stringify(c.input)}`,
      `  replay: ${c.replayCommand}`,
    );
  }
  const replay = replayHint(summary);
  if (replay) lines.push(`replay: ${replay}`);
  lines.push(`verdict: ${summary.verdict}`);
  return `${lines.join("\n")}\n`;
}

function replayHint(summary: RunSummary): string | undefined {
  if (summary.verdict === "pass") return undefined;
  if (summary.counterexample) return summary.counterexample.replayCommand;
  const failing = summary.cases.find((c) => c.verdict !== "pass");
  return failing
    ? `npx bootproof replay ${summary.caseDirs?.[failing.caseId] ?? `${summary.artifactsDir}/${failing.caseId}`}`
    : undefined;
}

export function createTerminalReporter(stream: NodeJS.WriteStream = process.stderr): (event: RunEvent) => void {
  const live = stream.isTTY === true && !process.env.CI;
  const running = new Map<string, { boot: string; phase: BootPhase; since: number }>();
  // The live display is loaded only for a terminal; CI logs and benches never pay for it.
  let logUpdate: ReturnType<typeof import("log-update").createLogUpdate> | undefined;
  if (live)
    void import("log-update").then((m) => {
      logUpdate = m.createLogUpdate(stream);
    });
  let done = 0;
  let total = 0;
  const render = () => {
    if (!live) return;
    const rows = [...running.entries()].map(
      ([caseId, r]) => `  ${caseId} ${r.boot}: ${r.phase} (${((Date.now() - r.since) / 1000).toFixed(0)} s)`,
    );
    logUpdate?.(`case ${Math.min(done + running.size, total)} of ${total}, ${done} done\n${rows.join("\n")}`);
  };
  const timer = live ? setInterval(render, 500) : undefined;
  timer?.unref();
  return (event) => {
    switch (event.kind) {
      case "run-start":
        total = event.total;
        stream.write(
          `bootproof: ${event.scenario}: ${event.total} ${event.mode === "generated" ? `generated case(s), seed ${event.seed}` : "example(s)"}\n`,
        );
        break;
      case "case-start":
        if (event.phase === "shrink") total++;
        if (!live)
          stream.write(`  [${event.index + 1}/${total}] ${event.caseId}${event.phase === "shrink" ? " (shrinking)" : ""} ...\n`);
        break;
      case "boot-start":
        running.set(event.caseId, { boot: event.boot, phase: "started", since: Date.now() });
        break;
      case "boot-phase": {
        const r = running.get(event.caseId);
        if (r) r.phase = event.phase;
        break;
      }
      case "boot-end":
        if (!live)
          stream.write(
            `      ${event.caseId} boot ${event.boot}: ${event.status} in ${(event.durationMs / 1000).toFixed(1)} s\n`,
          );
        break;
      case "case-end":
        running.delete(event.result.caseId);
        done++;
        logUpdate?.clear();
        stream.write(`${caseLine(event.result)}\n`);
        render();
        break;
      case "run-end":
        if (timer) clearInterval(timer);
        logUpdate?.clear();
        break;
    }
  };
}
