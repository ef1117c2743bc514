import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { MachineInput } from "../../../emulator/machine.js";
import { MachineValidationError, parseMachine } from "../../../emulator/validate.js";

function problemsOf(input: unknown, checkFiles = false): string[] {
  try {
    parseMachine(input, { checkFiles });
    return [];
  } catch (error) {
    expect(error).toBeInstanceOf(MachineValidationError);
    return (error as MachineValidationError).problems.map((p) => `${p.path}: ${p.message}`);
  }
}

const twoVirtioDisks = (slotA: number, slotB: number): MachineInput => ({
  name: "m",
  drives: [
    { id: "a", file: "/a" },
    { id: "b", file: "/b" },
  ],
  disks: [
    { kind: "virtio-blk", id: "va", drive: "a", pciSlot: slotA },
    { kind: "virtio-blk", id: "vb", drive: "b", pciSlot: slotB },
  ],
});

describe("machine validation", () => {
  it("accepts a well-formed machine", () => {
    expect(problemsOf(twoVirtioDisks(5, 6))).toEqual([]);
  });

  it("names both devices of a PCI slot collision", () => {
    const problems = problemsOf(twoVirtioDisks(7, 7));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/device 'vb'.*PCI slot 7 collides with device 'va'/);
  });

  it("refuses the chipset's own slots", () => {
    expect(problemsOf(twoVirtioDisks(1, 6))[0]).toMatch(/slot 1 is taken by the PIIX3/);
    expect(problemsOf({ ...twoVirtioDisks(5, 31), machineType: "q35" })[0]).toMatch(/slot 31 is taken by the ICH9/);
  });

  it("reports an unknown device kind with its path", () => {
    const problems = problemsOf({ name: "m", disks: [{ kind: "nvme", id: "n", drive: "a" }] });
    expect(problems.join("\n")).toMatch(
      /disks\[0\]\.kind: unknown kind; use one of: virtio-blk, scsi-hd, scsi-cd, ide-hd, ide-cd, usb-storage, floppy/,
    );
  });

  it("reports duplicate ids, duplicate boot indexes and undeclared drives together", () => {
    const problems = problemsOf({
      name: "m",
      drives: [{ id: "a", file: "/a" }],
      disks: [
        { kind: "virtio-blk", id: "a", drive: "a", bootIndex: 0 },
        { kind: "virtio-blk", id: "v2", drive: "zz", bootIndex: 0 },
      ],
    });
    expect(problems.some((p) => /duplicate id 'a'/.test(p))).toBe(true);
    expect(problems.some((p) => /bootIndex 0 is already used/.test(p))).toBe(true);
    expect(problems.some((p) => /drive 'zz' is not declared/.test(p))).toBe(true);
  });

  it("enforces bus capacity: IDE units, LSI targets, SCSI address reuse", () => {
    const problems = problemsOf({
      name: "m",
      machineType: "q35",
      drives: ["a", "b", "c", "d"].map((id) => ({ id, file: `/${id}` })),
      controllers: [{ kind: "lsi53c895a", id: "lsi" }],
      disks: [
        { kind: "ide-hd", id: "i0", drive: "a", bus: 0, unit: 1 },
        { kind: "scsi-hd", id: "s0", drive: "b", controller: "lsi", scsiId: 7 },
        { kind: "scsi-hd", id: "s1", drive: "c", controller: "lsi", scsiId: 2 },
        { kind: "scsi-hd", id: "s2", drive: "d", controller: "lsi", scsiId: 2 },
      ],
    });
    expect(problems.some((p) => /units 0\.\.0/.test(p))).toBe(true);
    expect(problems.some((p) => /SCSI ids 0\.\.6/.test(p))).toBe(true);
    expect(problems.some((p) => /SCSI address lsi 0:2:0 is already occupied/.test(p))).toBe(true);
  });

  it("names missing image files when asked to check files", () => {
    const problems = problemsOf({ name: "m", drives: [{ id: "a", file: "/nonexistent/root.img" }] }, true);
    expect(problems).toEqual(["drives[0].file: file not found: /nonexistent/root.img; check the path or build the image first"]);
  });

  it("never accepts two pinned devices on one slot (generated)", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 2, max: 30 }), { minLength: 1, maxLength: 8 }), (slots) => {
        const input: MachineInput = {
          name: "m",
          drives: slots.map((_, i) => ({ id: `d${i}`, file: `/d${i}` })),
          disks: slots.map((slot, i) => ({ kind: "virtio-blk" as const, id: `v${i}`, drive: `d${i}`, pciSlot: slot })),
        };
        const hasDuplicate = new Set(slots).size !== slots.length;
        expect(problemsOf(input).length > 0).toBe(hasDuplicate);
      }),
      { seed: 42, numRuns: 500 },
    );
  });
});
