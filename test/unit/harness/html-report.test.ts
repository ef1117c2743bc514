// The HTML report: milestones read from a real boot's console.log (real Ironic's iPXE boot
// over HTTP and iSCSI), and a page that holds the run's data, escapes what it quotes and
// needs nothing from the network.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parseConsoleLog, renderHtml } from "../../../harness/report/html.js";
import type { RunSummary } from "../../../harness/run/run-scenario.js";

const CONSOLE = readFileSync("test/fixtures/console/ironic-real-boot.console.txt", "utf8");

describe("console milestones", () => {
  it("finds each milestone of a real iPXE SAN boot, in order, with its host time", () => {
    const { milestones, tail } = parseConsoleLog(CONSOLE);
    const names = milestones.map((m) => m.name);
    expect(names.slice(0, 5)).toEqual(["firmware", "iPXE", "DHCP", "script", "SAN attach"]);
    expect(names).toEqual(expect.arrayContaining(["loader", "kernel", "probe", "observation"]));
    const at = Object.fromEntries(milestones.map((m) => [m.name, m.atMs]));
    expect(at.firmware).toBe(151);
    expect(at.DHCP).toBe(5381);
    expect(at["SAN attach"]).toBe(5482);
    expect(milestones.every((m, i) => i === 0 || m.atMs >= milestones[i - 1]!.atMs)).toBe(true);
    expect(tail).toHaveLength(30);
  });
});

const summary: RunSummary = {
  scenario: "ironic-iscsi",
  mode: "generated",
  seed: 1,
  verdict: "fail",
  durationMs: 12_000,
  artifactsDir: "/artifacts/run",
  cases: [
    {
      caseId: "case-001",
      verdict: "fail",
      input: { node: "<script>alert(1)</script>", authPassword: "<redacted>" },
      inputRedacted: true,
      boots: [
        {
          name: "boot",
          status: "no-observation",
          durationMs: 16_300,
          phase: "firmware",
          artifactDir: "/artifacts/run/case-001/boot",
        },
      ],
      properties: [
        { name: "ipxe-script-matches-cinder", layer: "static", ok: false, message: "Cinder said LUN 12; iPXE reads <18>" },
        { name: "booted-boot-index-0-volume", layer: "boot", ok: true },
      ],
      message: "ipxe-script-matches-cinder: Cinder said LUN 12",
      durationMs: 16_500,
    },
  ],
  counterexample: {
    caseId: "case-001",
    seed: 1,
    path: "3:0:1",
    input: { lun: 10 },
    shrinkSteps: 42,
    replayCommand: "npx bootproof run ironic-iscsi --driver real --seed 1 --path 3:0:1",
  },
};

describe("renderHtml", () => {
  const { milestones, tail } = parseConsoleLog(CONSOLE);
  const html = renderHtml(
    summary,
    {
      "/artifacts/run/case-001/boot": {
        milestones,
        consoleTail: tail,
        observation: '{"role":"volume-6f1e0c2a"}',
        artifacts: ["console.log", "ironic-node-config.ipxe"],
      },
    },
    "/artifacts/run",
  );

  it("holds the case table, properties, timeline, console tail, observation, counterexample and replay command", () => {
    expect(html).toMatch(/<td class="fail">fail<\/td><td><a href="#case-001">case-001<\/a>/);
    expect(html).toContain("ipxe-script-matches-cinder");
    expect(html).toMatch(/class="milestone" style="left:[\d.]+%"[^>]*><span[^>]*>SAN attach 5\.5 s<\/span>/);
    expect(html).toContain("Registered SAN device 0x80");
    expect(html).toContain("volume-6f1e0c2a");
    expect(html).toContain("after 42 shrink steps");
    expect(html).toContain("npx bootproof run ironic-iscsi --driver real --seed 1 --path 3:0:1");
    expect(html).toContain('<a href="case-001/boot/ironic-node-config.ipxe">ironic-node-config.ipxe</a>');
  });

  it("escapes everything it quotes and is self-contained (no script, no external resource)", () => {
    expect(html).not.toContain("<script>");
    expect(html).toContain("&lt;script&gt;alert(1)&lt;/script&gt;");
    expect(html).toContain("iPXE reads &lt;18&gt;");
    expect(html).not.toMatch(/<(script|link|img|iframe)\b/);
    expect(html).not.toMatch(/(src|href)="https?:/);
  });
});
