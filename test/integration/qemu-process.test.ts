// The QEMU layer against real QEMU, without running guest code (-S keeps the CPU stopped):
// argv is accepted, QMP reports the pinned slots, stop and deadline both end the process.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildQemuCommand } from "../../emulator/argv.js";
import { MachineSchema } from "../../emulator/machine.js";
import { QemuLaunchError, QemuProcess } from "../../emulator/qemu-process.js";
import { flattenQueryPci, QmpClient } from "../../emulator/qmp.js";
import { isAlive } from "./processes.js";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "bp-qemu-it-"));
  await writeFile(join(dir, "a.raw"), Buffer.alloc(1 << 20));
  await writeFile(join(dir, "b.raw"), Buffer.alloc(1 << 20));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("QemuProcess with real QEMU", () => {
  it("pins PCI slots as declared (query-pci) and stops cleanly through QMP", async () => {
    const machine = MachineSchema.parse({
      name: "pinned",
      drives: [
        { id: "a", file: join(dir, "a.raw") },
        { id: "b", file: join(dir, "b.raw") },
      ],
      controllers: [{ kind: "virtio-scsi-pci", id: "scsi0", pciSlot: 12 }],
      disks: [
        { kind: "virtio-blk", id: "vda", drive: "a", pciSlot: 9, serial: "A1" },
        { kind: "scsi-hd", id: "sda", drive: "b", controller: "scsi0", scsiId: 1, lun: 0, wwn: "0x5000c50015ea71ac" },
      ],
    });
    const qmpSocket = join(dir, "qmp.sock");
    const command = buildQemuCommand(machine, { qmpSocket });
    const qemu = await QemuProcess.launch({ command: { ...command, argv: [...command.argv, "-S"] }, deadlineMs: 30_000 });
    const qmp = await QmpClient.connect(qmpSocket);
    qemu.attachQmp(qmp);
    const pci = flattenQueryPci(await qmp.execute("query-pci"));
    expect(pci.find((d) => d.qdevId === "vda")?.slot).toBe(9);
    expect(pci.find((d) => d.qdevId === "scsi0")?.slot).toBe(12);
    const block = (await qmp.execute("query-block")) as Array<{ device: string; inserted?: { file: string } }>;
    expect(block.map((b) => b.device).sort()).toEqual(["a", "b"]);
    const outcome = await qemu.stop();
    expect(outcome.reason).toBe("stopped");
    expect(isAlive(qemu.pid)).toBe(false);
  });

  it("kills QEMU at the deadline and says so", async () => {
    const machine = MachineSchema.parse({ name: "deadline" });
    const command = buildQemuCommand(machine, {});
    const qemu = await QemuProcess.launch({ command: { ...command, argv: [...command.argv, "-S"] }, deadlineMs: 1_500 });
    const outcome = await qemu.wait();
    expect(outcome.reason).toBe("deadline");
    expect(outcome.durationMs).toBeGreaterThanOrEqual(1_400);
    expect(isAlive(qemu.pid)).toBe(false);
  });

  it("reports a bad device argument with the command line and QEMU's message", async () => {
    const command = buildQemuCommand(MachineSchema.parse({ name: "bad" }), {});
    const qemu = await QemuProcess.launch({
      command: { ...command, argv: [...command.argv, "-device", "no-such-device"] },
      deadlineMs: 10_000,
    });
    const outcome = await qemu.wait();
    expect(QemuProcess.isEarlyFailure(outcome)).toBe(true);
    expect(outcome.stderr).toMatch(/no-such-device/);
    expect(outcome.commandLine).toContain("-device no-such-device");
  });

  it("names the Debian package when the QEMU binary is missing", async () => {
    const command = buildQemuCommand(MachineSchema.parse({ name: "missing" }), {});
    await expect(
      QemuProcess.launch({ command: { ...command, binary: "qemu-system-does-not-exist" }, deadlineMs: 5_000 }),
    ).rejects.toThrow(QemuLaunchError);
  });
});
