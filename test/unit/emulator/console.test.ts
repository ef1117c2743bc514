import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { classifyConsoleLine, laterPhase, SerialConsole } from "../../../emulator/console.js";

describe("console markers", () => {
  it("classifies boot milestones", () => {
    expect(classifyConsoleLine("[    0.000000] Linux version 6.1.0-56-amd64 (debian-kernel@lists.debian.org)")).toEqual({
      kind: "phase",
      phase: "kernel",
    });
    expect(classifyConsoleLine("BOOTPROOF-PROBE start")).toEqual({ kind: "phase", phase: "probe" });
    expect(classifyConsoleLine('BOOTPROOF-OBSERVATION {"schema":1}')).toEqual({ kind: "observation" });
    expect(classifyConsoleLine("[    2.1] Kernel panic - not syncing: VFS: Unable to mount root fs")).toEqual({ kind: "panic" });
    expect(classifyConsoleLine("SYSLINUX 6.04 EDD 20190226 Copyright (C) 1994-2015 H. Peter Anvin et al")).toEqual({
      kind: "phase",
      phase: "loader",
    });
    expect(classifyConsoleLine("[    3.0] reboot: Power down")).toEqual({ kind: "phase", phase: "poweroff" });
    expect(classifyConsoleLine("Could not open SAN device: Permission denied (http://ipxe.org/0216eb3c)")).toEqual({
      kind: "boot-error",
    });
    expect(classifyConsoleLine("No bootable device.  Retrying in 1 seconds.")).toEqual({ kind: "boot-error" });
    expect(classifyConsoleLine("iPXE 1.0.0+git-20190125.36a4c85-5.1 -- Open Source Network Boot Firmware")).toEqual({
      kind: "phase",
      phase: "firmware",
    });
    expect(classifyConsoleLine("random text")).toBeUndefined();
  });

  it("never moves the phase backwards", () => {
    expect(laterPhase("kernel", "firmware")).toBe("kernel");
    expect(laterPhase("firmware", "probe")).toBe("probe");
  });
});

describe("SerialConsole", () => {
  it("splits chunks into timestamped lines, strips escapes and logs them", async () => {
    const dir = await mkdtemp(join(tmpdir(), "bp-console-"));
    const log = join(dir, "console.log");
    const serial = new SerialConsole(Date.now() - 1500, log);
    const markers: string[] = [];
    serial.on("marker", (m) => markers.push(m.kind === "phase" ? m.phase : m.kind));
    serial.push("\x1bc\x1b[?7l\x1b[2JLinux vers");
    serial.push("ion 6.1.0\r\nBOOTPROOF-PROBE start\r\nBOOTPROOF-OBSERVATION {}\n");
    serial.push("tail without newline");
    await serial.end();
    expect(markers).toEqual(["kernel", "probe", "observation"]);
    expect(serial.phase).toBe("observation");
    expect(serial.lastLines().map((l) => l.text)).toEqual([
      "Linux version 6.1.0",
      "BOOTPROOF-PROBE start",
      "BOOTPROOF-OBSERVATION {}",
      "tail without newline",
    ]);
    const text = await readFile(log, "utf8");
    expect(text).toMatch(/^\[\s+1\.\d{3}\] Linux version 6\.1\.0$/m);
    expect(text.trim().split("\n")).toHaveLength(4);
  });
});
