import { describe, expect, it } from "vitest";
import { combineVerdicts, exitCodeFor } from "../../../harness/errors.js";
import { renderJunit } from "../../../harness/report/junit.js";
import type { CaseResult } from "../../../harness/run/run-case.js";
import type { RunSummary } from "../../../harness/run/run-scenario.js";

const result = (caseId: string, verdict: CaseResult["verdict"], message?: string): CaseResult => ({
  caseId,
  verdict,
  input: {},
  boots: [],
  properties: [{ name: "p", layer: "boot", ok: verdict === "pass", message }],
  message,
  durationMs: 1200,
});

describe("verdicts", () => {
  it("maps verdicts to exit codes: 0 all pass, 1 a property failed, 2 infra-error or timeout", () => {
    expect(exitCodeFor(["pass", "pass"])).toBe(0);
    expect(exitCodeFor(["pass", "fail"])).toBe(1);
    expect(exitCodeFor(["fail", "timeout"])).toBe(2);
    expect(exitCodeFor(["infra-error"])).toBe(2);
    expect(combineVerdicts(["pass", "fail", "timeout"])).toBe("timeout");
  });
});

describe("JUnit", () => {
  it("separates product failures from infrastructure errors and escapes text", () => {
    const summary: RunSummary = {
      scenario: "smoke",
      mode: "generated",
      seed: 7,
      verdict: "infra-error",
      cases: [
        result("a", "pass"),
        result("b", "fail", 'role was "rescue" <not root> & more'),
        result("c", "infra-error", "QEMU missing"),
      ],
      durationMs: 4000,
      artifactsDir: "/tmp/x",
    };
    const xml = renderJunit(summary);
    expect(xml).toContain('<testsuites name="bootproof" tests="3" failures="1" errors="1"');
    expect(xml).toContain('<failure message="role was &quot;rescue&quot; &lt;not root&gt; &amp; more" type="fail">');
    expect(xml).toContain('<error message="QEMU missing" type="infra-error">');
    expect(xml).toContain('<property name="seed" value="7"/>');
  });
});
