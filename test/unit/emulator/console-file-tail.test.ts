import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ConsoleFileTail } from "../../../emulator/console-file-tail.js";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "bp-tail-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe("ConsoleFileTail", () => {
  it("delivers what a writer appends, in order, while it runs and on close", async () => {
    const path = join(dir, "serial.out");
    const chunks: string[] = [];
    const tail = new ConsoleFileTail(path, (chunk) => chunks.push(chunk.toString("latin1")), 10);
    // QEMU opens the file itself (O_TRUNC): the reader must keep following the same inode.
    writeFileSync(path, "SeaBIOS ");
    appendFileSync(path, "(version 1.16)\n");
    await sleep(60);
    expect(chunks.join("")).toBe("SeaBIOS (version 1.16)\n");
    appendFileSync(path, "Booting from Hard Disk...");
    tail.close(); // the last bytes arrive even without another poll
    expect(chunks.join("")).toBe("SeaBIOS (version 1.16)\nBooting from Hard Disk...");
  });

  it("reads more than one buffer's worth in one pass and never repeats bytes", async () => {
    const path = join(dir, "serial.out");
    let received = "";
    const tail = new ConsoleFileTail(
      path,
      (chunk) => {
        received += chunk.toString("latin1");
      },
      10_000,
    );
    const big = "x".repeat(200_000);
    appendFileSync(path, big);
    tail.drain();
    tail.drain(); // nothing new: nothing delivered twice
    tail.close();
    expect(received.length).toBe(big.length);
  });
});
