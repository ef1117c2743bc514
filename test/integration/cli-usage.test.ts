// Usage errors are bad input: exit 2 (never 1, which says a property failed), the error and
// a one-line hint on stderr, not the whole help; --help and --version are no error.
import { resolve } from "node:path";
import { execa } from "execa";
import { describe, expect, it } from "vitest";

const BIN = resolve("bin/bootproof");
const HINT = "(see `bootproof --help`, or `bootproof <command> --help`)";
const bootproof = (args: string[]) => execa(BIN, args, { reject: false, env: { CI: "true" }, timeout: 30_000 });

describe("usage errors exit 2 with the error and a hint", () => {
  it.each([
    ["an unknown option", ["run", "--bogus", "smoke"], /error: unknown option '--bogus'/],
    ["a missing argument", ["run"], /error: missing required argument 'scenario'/],
    ["an unknown command", ["nonsense"], /error: unknown command 'nonsense'/],
    [
      "an invalid number",
      ["run", "--runs", "abc", "smoke"],
      /error: option '--runs <n>' argument 'abc' is invalid\. --runs must be an integer/,
    ],
    ["an invalid choice", ["run", "--driver", "x", "nova-rescue"], /argument 'x' is invalid\. Allowed choices are real, model/],
    ["a missing option value", ["run", "smoke", "--seed"], /error: option '--seed <n>' argument missing/],
    ["a missing required option", ["serve", "http"], /error: required option '--root <dir>' not specified/],
  ])("%s", async (_what, args, message) => {
    const result = await bootproof(args);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stderr).toContain(HINT);
    expect(result.stderr).not.toMatch(/^Options:/m);
    expect(result.stdout).toBe("");
  });

  it("a seed scenario this host cannot boot (FCoE) is listed with the reason, and run refuses it with exit 2", async () => {
    const list = await bootproof(["list"]);
    expect(list.exitCode).toBe(0);
    expect(list.stdout).toMatch(/not bootable on this host[\s\S]*ironic-fcoe\s+seed 002 scenario 2 .*without FCoE/);
    const run = await bootproof(["run", "ironic-fcoe"]);
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toMatch(/scenario 'ironic-fcoe' cannot boot on this host: .*NET_PROTO_FCOE/);
  });

  it("no command at all prints the help and exits 2", async () => {
    const result = await bootproof([]);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(/^Usage: bootproof/m);
  });

  it.each([["--help"], ["--version"], ["run", "--help"]])("%s is no error (exit 0)", async (...args) => {
    const result = await bootproof(args);
    expect(result.exitCode).toBe(0);
    expect(result.stdout).not.toBe("");
  });
});
