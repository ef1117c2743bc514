// The HTML report of a real run renders in a real headless browser (Debian's chromium): the
// DOM holds the run's cases and the boot's console milestones, and the screenshot is a page
// with content, not a blank one.
import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { runScenario } from "../../harness/run/run-scenario.js";
import ironic from "../../scenarios/ironic/index.js";
import { useTempArtifacts } from "./temp-artifacts.js";

const CHROMIUM = "/usr/bin/chromium-headless-shell";
const artifactsDir = useTempArtifacts("bp-html-it");
const headless = (args: string[]) =>
  execa(CHROMIUM, ["--no-sandbox", "--disable-gpu", "--window-size=1280,1600", ...args], { reject: false, timeout: 60_000 });

describe("report.html", () => {
  it("renders a real boot's run in headless chromium, with its cases and milestones", async () => {
    const summary = await runScenario(ironic, {
      artifactsRoot: artifactsDir("run"),
      accelerator: "tcg",
      jobs: 1,
      example: "bios",
    });
    expect(summary.verdict).toBe("pass");
    const report = join(summary.artifactsDir, "report.html");
    const dom = await headless(["--dump-dom", `file://${report}`]);
    expect(dom.stdout).toMatch(/<td class="pass">pass<\/td><td><a href="#example-bios">example-bios<\/a>/);
    for (const milestone of ["firmware", "iPXE", "DHCP", "SAN attach", "kernel", "observation"])
      expect(dom.stdout).toContain(`>${milestone} `);
    const shot = join(summary.artifactsDir, "report.png");
    const blank = join(summary.artifactsDir, "blank.png");
    await headless([`--screenshot=${shot}`, `file://${report}`]);
    await headless([`--screenshot=${blank}`, "about:blank"]);
    expect((await readFile(shot)).subarray(0, 8).toString("hex")).toBe("89504e470d0a1a0a");
    // A page with tables, text and a timeline compresses far worse than an empty one.
    expect((await stat(shot)).size).toBeGreaterThan(5 * (await stat(blank)).size);
  }, 240_000);
});
