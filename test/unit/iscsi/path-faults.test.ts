// Faults of one SAN path, over real TCP: rules that match a portal reach only the PDUs that
// came in through it, and a close-portal fault takes that portal down (reconnects refused)
// while the other keeps serving.
import net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { type IscsiTargetHandle, startIscsiTarget } from "../../../harness/iscsi/target.js";
import { downPortals, sanPathFaultRules } from "../../../harness/services/san-paths.js";
import { cdb, senseOf, TestInitiator } from "./initiator.js";

const IQN = "iqn.2024-01.org.bootproof.test:paths";
const INITIATOR = "iqn.2024-01.org.bootproof:host";
let target: IscsiTargetHandle | undefined;
afterEach(async () => {
  await target?.close();
  target = undefined;
});

async function start(rules: Parameters<typeof startIscsiTarget>[0]["faults"]): Promise<IscsiTargetHandle> {
  target = await startIscsiTarget({
    portals: [{}, {}],
    targets: [{ iqn: IQN, luns: [{ lun: 0, backend: { kind: "memory", sizeBytes: 1 << 20 } }] }],
    faults: rules,
  });
  return target;
}

async function session(t: IscsiTargetHandle, portal: number): Promise<TestInitiator> {
  const ini = await TestInitiator.connect(t.portals[portal]!.port);
  const r = await ini.login({ target: IQN, initiatorName: INITIATOR, isid: Buffer.from([0x80, 0, 0, 1, 0, portal]) });
  expect(r.statusClass).toBe(0);
  return ini;
}

const refused = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = net.connect(port, "127.0.0.1");
    s.once("connect", () => {
      s.destroy();
      resolve(false);
    });
    s.once("error", () => resolve(true));
  });

describe("SAN path faults", () => {
  it("an erroring path answers reads with MEDIUM ERROR; the other path reads the data", async () => {
    const t = await start({ rules: sanPathFaultRules([{ portal: 0, kind: "erroring" }], 2) });
    const bad = await session(t, 0);
    const good = await session(t, 1);
    const failed = await bad.scsi(0, cdb.read10(0, 1), { read: 512 });
    expect(senseOf(failed.sense)).toEqual({ key: 0x03, asc: 0x1100 });
    const ok = await good.scsi(0, cdb.read10(0, 1), { read: 512 });
    expect(ok.status).toBe(0);
    // Commands that move no data still work on the erroring path (the LU is there).
    expect((await bad.scsi(0, cdb.tur())).status).toBe(0);
    bad.close();
    good.close();
  });

  it("a slow path delays each command by its delay; the other path does not wait", async () => {
    const t = await start({ rules: sanPathFaultRules([{ portal: 1, kind: "slow", delayMs: 300 }], 2) });
    const fast = await session(t, 0);
    const slow = await session(t, 1);
    let started = performance.now();
    await fast.scsi(0, cdb.read10(0, 1), { read: 512 });
    expect(performance.now() - started).toBeLessThan(250);
    started = performance.now();
    await slow.scsi(0, cdb.read10(0, 1), { read: 512 });
    expect(performance.now() - started).toBeGreaterThanOrEqual(290);
    fast.close();
    slow.close();
  });

  it("close-portal on a path's first read takes that portal down and leaves the other serving", async () => {
    const t = await start({
      rules: [{ match: { portal: 0, scsiOpcode: 0x28 }, action: { kind: "close-portal" } }],
    });
    const first = await session(t, 0);
    const second = await session(t, 1);
    await first.scsi(0, cdb.read10(0, 1), { read: 512, timeoutMs: 2000 }).catch(() => undefined);
    await expect.poll(() => t.portals[0]!.open).toBe(false);
    expect(await refused(t.portals[0]!.port)).toBe(true);
    expect((await second.scsi(0, cdb.read10(0, 1), { read: 512 })).status).toBe(0);
    second.close();
  });

  it("turns path faults into rules and names a portal the target lacks", () => {
    expect(sanPathFaultRules([{ portal: 1, kind: "down" }], 2)).toEqual([]);
    expect(
      downPortals([
        { portal: 1, kind: "down" },
        { portal: 0, kind: "slow" },
        { portal: 1, kind: "down" },
      ]),
    ).toEqual([1]);
    const [stall] = sanPathFaultRules([{ portal: 0, kind: "unresponsive" }], 1);
    expect(stall).toMatchObject({ match: { portal: 0, phase: "full-feature" }, action: { kind: "stall" }, after: 1 });
    expect(stall!.match.when?.({ opcode: 1, phase: "full-feature", index: 3, portal: 0, scsiOpcode: 0x12 })).toBe(false);
    expect(stall!.match.when?.({ opcode: 1, phase: "full-feature", index: 3, portal: 0, scsiOpcode: 0x88 })).toBe(true);
    expect(() => sanPathFaultRules([{ portal: 2, kind: "erroring" }], 2)).toThrow(/portal 2.*2 portal\(s\) \(0\.\.1\)/);
    expect(() => sanPathFaultRules([{ portal: 0, kind: "slow", delayMs: 0 }], 1)).toThrow(/delayMs 0/);
  });
});
