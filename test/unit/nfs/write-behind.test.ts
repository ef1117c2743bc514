// Write-behind's bookkeeping: when a background flush starts, that one runs at a time per file,
// that COMMIT waits for it, and that a failed flush is reported to the next COMMIT and only once.
import { describe, expect, it } from "vitest";
import { WriteBehind } from "../../../harness/nfs/write-behind.js";

/** A file whose datasync() calls stay pending until the test settles them. */
function fakeFile() {
  const calls: { resolve: () => void; reject: (error: Error) => void }[] = [];
  return {
    calls,
    datasync: () =>
      new Promise<void>((resolve, reject) => {
        calls.push({ resolve, reject });
      }),
  };
}

const MiB = 1 << 20;

describe("WriteBehind", () => {
  it("starts one flush per threshold of unstable bytes, never two at once for a file", async () => {
    const wb = new WriteBehind(4 * MiB);
    const file = fakeFile();
    for (let i = 0; i < 3; i++) wb.written(1n, file, MiB);
    expect(file.calls).toHaveLength(0);
    wb.written(1n, file, MiB);
    expect(file.calls).toHaveLength(1);
    expect(wb.flushing(1n)).toBe(true);
    // Another threshold's worth while the first flush runs: it waits for the next write after.
    for (let i = 0; i < 5; i++) wb.written(1n, file, MiB);
    expect(file.calls).toHaveLength(1);
    file.calls[0]!.resolve();
    await new Promise((r) => setImmediate(r));
    expect(wb.flushing(1n)).toBe(false);
    wb.written(1n, file, MiB);
    expect(file.calls).toHaveLength(2);
    // Files are counted apart.
    const other = fakeFile();
    wb.written(2n, other, 3 * MiB);
    expect(other.calls).toHaveLength(0);
  });

  it("makes a COMMIT wait for the running flush", async () => {
    const wb = new WriteBehind(MiB);
    const file = fakeFile();
    wb.written(7n, file, MiB);
    let settled = false;
    const commit = wb.settle(7n).then((failure) => {
      settled = true;
      return failure;
    });
    await new Promise((r) => setImmediate(r));
    expect(settled).toBe(false);
    file.calls[0]!.resolve();
    expect(await commit).toBeUndefined();
  });

  it("reports a failed background flush to the next COMMIT of that file, once", async () => {
    const wb = new WriteBehind(MiB);
    const file = fakeFile();
    wb.written(9n, file, 2 * MiB);
    file.calls[0]!.reject(new Error("EIO: i/o error, fdatasync"));
    expect(await wb.settle(3n)).toBeUndefined();
    expect((await wb.settle(9n))?.message).toMatch(/EIO/);
    expect(await wb.settle(9n)).toBeUndefined();
  });

  it("reports an UNSTABLE write's failed copy to the next COMMIT of that file, once", async () => {
    const wb = new WriteBehind(MiB);
    wb.failed(4n, Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC" }));
    expect(await wb.settle(5n)).toBeUndefined();
    const failure = await wb.settle(4n);
    expect((failure as NodeJS.ErrnoException | undefined)?.code).toBe("ENOSPC");
    expect(await wb.settle(4n)).toBeUndefined();
  });

  it("waits for every flush when the server stops", async () => {
    const wb = new WriteBehind(MiB);
    const a = fakeFile();
    const b = fakeFile();
    wb.written(1n, a, MiB);
    wb.written(2n, b, MiB);
    let done = false;
    const all = wb.settled().then(() => {
      done = true;
    });
    a.calls[0]!.resolve();
    await new Promise((r) => setImmediate(r));
    expect(done).toBe(false);
    b.calls[0]!.resolve();
    await all;
    expect(done).toBe(true);
  });
});
