// bootproof as a library, imported by its package name the way a scenario author's project
// does (Node resolves "bootproof" through package.json "exports" to the compiled dist/): define
// a scenario in code, run it, read the summary, render the reports.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

let artifacts: string;
beforeAll(async () => {
  artifacts = await mkdtemp(join(tmpdir(), "bp-library-"));
});
afterAll(async () => {
  await rm(artifacts, { recursive: true, force: true });
});

describe('import … from "bootproof"', () => {
  it("defines a scenario, runs it with a real guest and reports it", async () => {
    const bootproof = await import("bootproof");
    const scenario = bootproof.defineScenario<{ role: string }>({
      name: "library-smoke",
      description: "one direct kernel boot defined in code",
      examples: [{ name: "root", input: { role: "root" } }],
      boots: (input) => [
        {
          name: "boot",
          topology: {
            machine: {
              name: "library",
              drives: [{ id: "data", file: "" }],
              disks: [{ kind: "virtio-blk", id: "d", drive: "data", serial: "LIB-1" }],
            },
            media: { data: { kind: "blank", sizeMiB: 1 } },
            directBoot: { role: input.role },
          },
        },
      ],
      properties: [
        {
          name: "role-seen",
          description: "the guest reports the role on its command line",
          check: (input, boots) =>
            boots.boot?.observation?.role === input.role
              ? { ok: true }
              : { ok: false, message: `saw ${boots.boot?.observation?.role}` },
        },
      ],
    });
    const events: string[] = [];
    const summary = await bootproof.runScenario(
      scenario,
      { artifactsRoot: join(artifacts, "run"), accelerator: "tcg", jobs: 1 },
      (event) => events.push(event.kind),
    );
    expect(summary.verdict).toBe("pass");
    expect(events).toContain("run-end");
    expect(bootproof.renderSummary(summary)).toMatch(/^PASS\s+example-root/m);
    expect(bootproof.renderJunit(summary)).toMatch(/<testcase [^>]*name="example-root"/);
    expect(bootproof.exitCodeFor([summary.verdict])).toBe(0);
    expect(Object.keys(bootproof.BUILT_IN_SCENARIOS)).toContain("ironic-iscsi");
  }, 240_000);
});
