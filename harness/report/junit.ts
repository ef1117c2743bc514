// JUnit XML from a run summary (pure). One testsuite per run, one testcase per case;
// `fail` becomes <failure>, infra-error and timeout become <error> so CI dashboards keep
// product failures apart from infrastructure trouble.
import type { RunSummary } from "../run/run-scenario.js";
import { escapeMarkup } from "./escape.js";

export function renderJunit(summary: RunSummary): string {
  const count = (verdict: string) => summary.cases.filter((c) => c.verdict === verdict).length;
  const lines = [
    `<?xml version="1.0" encoding="UTF-8"?>`,
    `<testsuites name="bootproof" tests="${summary.cases.length}" failures="${count("fail")}" errors="${count("infra-error") + count("timeout")}" time="${(summary.durationMs / 1000).toFixed(3)}">`,
    `  <testsuite name="${escapeMarkup(summary.scenario)}" tests="${summary.cases.length}" failures="${count("fail")}" errors="${count("infra-error") + count("timeout")}" time="${(summary.durationMs / 1000).toFixed(3)}">`,
  ];
  if (summary.seed !== undefined) lines.push(`    <properties><property name="seed" value="${summary.seed}"/></properties>`);
  for (const result of summary.cases) {
    lines.push(
      `    <testcase classname="${escapeMarkup(summary.scenario)}" name="${escapeMarkup(result.caseId)}" time="${(result.durationMs / 1000).toFixed(3)}">`,
    );
    const message = escapeMarkup(result.message ?? result.verdict);
    const firstLine = escapeMarkup((result.message ?? result.verdict).split("\n")[0] ?? "");
    if (result.verdict === "fail") lines.push(`      <failure message="${firstLine}" type="fail">${message}</failure>`);
    if (result.verdict === "infra-error" || result.verdict === "timeout")
      lines.push(`      <error message="${firstLine}" type="${result.verdict}">${message}</error>`);
    const props = result.properties.map(
      (p) => `${p.ok ? "PASS" : "FAIL"} [${p.layer}] ${p.name}${p.message ? `: ${p.message}` : ""}`,
    );
    const boots = result.boots.map(
      (b) => `boot ${b.name}: ${b.status} (${(b.durationMs / 1000).toFixed(1)} s, reached ${b.phase}) ${b.artifactDir}`,
    );
    lines.push(`      <system-out>${escapeMarkup([...boots, ...props].join("\n"))}</system-out>`);
    lines.push("    </testcase>");
  }
  lines.push("  </testsuite>", "</testsuites>", "");
  return lines.join("\n");
}
