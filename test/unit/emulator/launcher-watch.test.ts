import { spawn } from "node:child_process";
import { describe, expect, it } from "vitest";
import { launcherOf, type ProcessInfo, parseStat, readProcess } from "../../../emulator/launcher-watch.js";

const proc = (pid: number, commandLine: string): ProcessInfo => ({ pid, ppid: pid - 1, startTime: "1", commandLine });

describe("launcher watch", () => {
  it("parses ppid and start time even when the command name holds spaces and parentheses", () => {
    // Fields after the name: state ppid pgrp session tty tpgid flags minflt cminflt majflt
    // cmajflt utime stime cutime cstime priority nice threads itrealvalue starttime ...
    const stat = "4242 (npm exec (x) y) S 4200 4242 4100 0 -1 4194560 1 2 3 4 5 6 7 8 20 0 11 0 987654 1000 50";
    expect(parseStat(stat)).toEqual({ ppid: 4200, startTime: "987654" });
    expect(parseStat("garbage")).toBeUndefined();
  });

  it("finds the nearest npm or npx ancestor and nothing else", () => {
    const sh = proc(10, "sh -c bootproof run smoke");
    expect(launcherOf([sh, proc(9, "npm exec bootproof run smoke"), proc(8, "npm test")])?.pid).toBe(9);
    expect(launcherOf([sh, proc(9, "node /usr/lib/node_modules/npm/bin/npx-cli.js bootproof")])?.pid).toBe(9);
    expect(launcherOf([sh, proc(9, "bash ./ci.sh"), proc(8, "sshd: root")])).toBeUndefined();
    expect(launcherOf([proc(9, "npmlike-tool run")])).toBeUndefined();
  });

  it("reads a live process and sees it gone after it exits", async () => {
    const child = spawn("sleep", ["30"]);
    const pid = child.pid as number;
    const info = readProcess(pid);
    expect(info?.ppid).toBe(process.pid);
    expect(info?.commandLine).toBe("sleep 30");
    child.kill("SIGKILL");
    await new Promise((r) => child.once("exit", r));
    // Reaped by the exit handler: the pid no longer names this process.
    expect(readProcess(pid)?.startTime === info?.startTime && readProcess(pid)?.commandLine === "sleep 30").toBe(false);
  });
});
