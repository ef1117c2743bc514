// nova-dpm: the spec's driver model (vHBAs, boot parameters, the retry and no-retry
// variants), the partition machines it yields, and each property against a faithful guest
// record and a deliberately wrong one.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseMachine } from "../../../emulator/validate.js";
import type { Observation } from "../../../firmware/observation.js";
import type { BootRecord } from "../../../harness/scenario.js";
import { PLACEHOLDER_ENDPOINTS, resolveTopology, type Topology } from "../../../harness/scenario.js";
import { HBA_BOOT_MATRIX } from "../../../scenarios/common/hba-firmware.js";
import { novaDpmCaseArbitrary } from "../../../scenarios/nova-dpm/arbitraries.js";
import { type NovaDpmCase, novaDpmExamples, STORAGE_PORTS } from "../../../scenarios/nova-dpm/case.js";
import { decide, novaDpmBoots, volumeRole } from "../../../scenarios/nova-dpm/driver.js";
import { bootAttempts, createVhbas, DpmRefusal, parseAdapterMappings } from "../../../scenarios/nova-dpm/model.js";
import { novaDpmProperties } from "../../../scenarios/nova-dpm/properties.js";

const example = (name: string): NovaDpmCase => structuredClone(novaDpmExamples.find((e) => e.name === name)!.input);

describe("nova-dpm driver model", () => {
  it("gives one vHBA per adapter mapping, in the option's order", () => {
    const vhbas = createVhbas(parseAdapterMappings(["48602646-B18D-11e6-9c12-42f2e9ef1641:0", "1111:1"]), [
      "C0507601",
      "c0507602",
    ]);
    expect(vhbas).toEqual([
      { adapterId: "48602646-b18d-11e6-9c12-42f2e9ef1641", port: 0, deviceNumber: "1000", wwpn: "c0507601" },
      { adapterId: "1111", port: 1, deviceNumber: "1001", wwpn: "c0507602" },
    ]);
    expect(() => parseAdapterMappings(["48602646"])).toThrow(/is not "<storage-adapter-id>:<port-element-id>"/);
    expect(() => createVhbas([], [])).toThrow(DpmRefusal);
  });

  it("boots the boot_index 0 volume wherever block_device_info lists it, through the first vHBA's first WWPN", () => {
    const c = example("two-adapters");
    const { vhbas, attempts, bootVolumeIndex } = decide("no-retry", c);
    expect(bootVolumeIndex).toBe(1);
    expect(attempts).toEqual([
      {
        "boot-device": "storage-adapter",
        "boot-storage-device": vhbas[0]!.deviceNumber,
        "boot-logical-unit-number": "0000000000000000",
        "boot-world-wide-port-name": STORAGE_PORTS[0],
      },
    ]);
  });

  it("retries every WWPN of the first vHBA, then the other vHBA's", () => {
    const c = example("two-adapters");
    const attempts = decide("retry", c).attempts.map((a) => [a["boot-storage-device"], a["boot-world-wide-port-name"]]);
    expect(attempts).toEqual([
      ["1000", STORAGE_PORTS[0]],
      ["1000", STORAGE_PORTS[1]],
      ["1001", STORAGE_PORTS[0]],
      ["1001", STORAGE_PORTS[1]],
    ]);
  });

  it("refuses no or two boot volumes, a non-FC boot volume and a first vHBA with nothing zoned", () => {
    const c = example("first-port-down");
    const vhbas = decide("retry", c).vhbas;
    const none = structuredClone(c.blockDeviceInfo);
    none.block_device_mapping[0]!.connection_info.data.boot_index = null;
    expect(() => bootAttempts("retry", vhbas, none)).toThrow(/0 mappings with boot_index 0/);
    const iscsi = structuredClone(c.blockDeviceInfo);
    iscsi.block_device_mapping[0]!.connection_info.driver_volume_type = "iscsi";
    expect(() => bootAttempts("retry", vhbas, iscsi)).toThrow(/fibre_channel volumes only/);
    const unzoned = structuredClone(c.blockDeviceInfo);
    unzoned.block_device_mapping[0]!.connection_info.data.initiator_target_map = {};
    expect(() => bootAttempts("retry", vhbas, unzoned)).toThrow(/no target WWPN for the first vHBA/);
  });
});

describe("nova-dpm partitions", () => {
  it("every generated case yields valid machines: one HBA per vHBA the firmware boots, the chosen path the only boot device", () => {
    fc.assert(
      fc.property(novaDpmCaseArbitrary, (c) => {
        expect(HBA_BOOT_MATRIX[c.firmware][c.hba].boots).toBe(true);
        const plans = novaDpmBoots("retry", c);
        const { attempts, vhbas } = decide("retry", c);
        expect(plans).toHaveLength(attempts.length);
        for (const plan of plans) {
          const machine = parseMachine((resolveTopology(plan, PLACEHOLDER_ENDPOINTS) as Topology).machine);
          expect(machine.controllers).toHaveLength(vhbas.length);
          const boot = [...machine.disks, ...machine.nics].filter((d) => d.bootIndex !== undefined);
          expect(boot).toHaveLength(1);
          // No unmapped LU reaches the machine.
          const wwns = new Set(machine.disks.map((d) => (d.kind === "scsi-hd" ? d.wwn : undefined)));
          for (const v of c.unmappedVolumes) expect(wwns.has(`0x${v.wwn}`)).toBe(false);
        }
      }),
      { numRuns: 200 },
    );
  });

  it("a down target port gives the partition no device through it, and a placeholder that boots nothing", () => {
    const c = example("first-port-down");
    const [first, second] = novaDpmBoots("retry", c).map((p) => parseMachine((resolveTopology(p) as Topology).machine));
    expect(first!.disks.map((d) => (d.kind === "scsi-hd" ? d.portWwn : ""))).toEqual([`0x${STORAGE_PORTS[1]}`]);
    expect(first!.nics).toEqual([expect.objectContaining({ romFile: "none", bootIndex: 0 })]);
    expect(second!.disks[0]).toMatchObject({ bootIndex: 0, portWwn: `0x${STORAGE_PORTS[1]}` });
    expect(second!.nics).toEqual([]);
  });
});

// A guest record of one attempt: the LU's paths as the probe reports them.
function record(
  name: string,
  o: Partial<{ role: string; paths: Array<[string, string, string, number]>; boot: string }> | null,
): BootRecord {
  const observation =
    o === null
      ? null
      : ({
          role: o.role ?? null,
          bootOrder: [o.boot ?? "/pci@i0cf8/scsi@5/channel@0/disk@1,0", "HALT"],
          blockDevices: (o.paths ?? []).map(([lunWwn, port, hctl, slot], i) => ({
            name: `sd${"abcdef"[i]}`,
            bus: "scsi",
            hctl,
            pciBdf: `00:0${slot}.0`,
            scsiPort: { lunWwn, targetPortWwn: port, relativeTargetPort: 1 },
          })),
        } as unknown as Observation);
  return {
    name,
    observation,
    failure: o === null ? "the firmware said: No bootable device." : undefined,
  } as unknown as BootRecord;
}

describe("nova-dpm properties", () => {
  const c = example("first-port-down");
  const boot = c.volumes[0]!;
  const [bootsVolume, throughChosen, onlyMapped] = novaDpmProperties("retry");
  const [noRetryBoots] = novaDpmProperties("no-retry");
  // The faithful record: attempt 1 (port 0, down) failed, attempt 2 booted through port 1 at target 1.
  const good = {
    "attempt-1": record("attempt-1", null),
    "attempt-2": record("attempt-2", {
      role: volumeRole(boot.volumeId),
      paths: [[boot.wwn, STORAGE_PORTS[1]!, "2:0:1:0", 5]],
    }),
  };

  it("pass on the faithful record", () => {
    for (const p of [bootsVolume!, throughChosen!, onlyMapped!]) expect(p.check(c, good)).toEqual({ ok: true });
  });

  it("boots-boot-index-0-volume fails on another role, and names the down port when nothing booted", () => {
    const wrongRole = {
      ...good,
      "attempt-2": record("attempt-2", { role: "volume-other", paths: [[boot.wwn, STORAGE_PORTS[1]!, "2:0:1:0", 5]] }),
    };
    expect(bootsVolume!.check(c, wrongRole)).toMatchObject({
      ok: false,
      message: expect.stringMatching(/booted role 'volume-other'/),
    });
    const nothing = { "attempt-1": record("attempt-1", null) };
    expect(noRetryBoots!.check(c, nothing)).toMatchObject({
      ok: false,
      message: expect.stringMatching(/does not retry[\s\S]*target port 500507680b214ac1 is down/),
    });
  });

  it("boots-through-chosen-vhba-and-wwpn fails when the booted path reports another target port", () => {
    const other = {
      ...good,
      "attempt-2": record("attempt-2", {
        role: volumeRole(boot.volumeId),
        paths: [[boot.wwn, STORAGE_PORTS[0]!, "2:0:1:0", 5]],
      }),
    };
    expect(throughChosen!.check(c, other)).toMatchObject({
      ok: false,
      message: expect.stringMatching(/chose vHBA 1000, target WWPN 500507680b244ac0/),
    });
  });

  it("sees-only-mapped-lus fails on an unmapped LU and on a port not zoned to the vHBA", () => {
    const other = c.unmappedVolumes[0]!;
    const extra = {
      ...good,
      "attempt-2": record("attempt-2", {
        role: volumeRole(boot.volumeId),
        paths: [
          [boot.wwn, STORAGE_PORTS[1]!, "2:0:1:0", 5],
          [other.wwn, STORAGE_PORTS[1]!, "2:0:1:2", 5],
          [boot.wwn, STORAGE_PORTS[2]!, "2:0:2:0", 5],
        ],
      }),
    };
    const outcome = onlyMapped!.check(c, extra);
    expect(outcome.ok).toBe(false);
    expect(outcome.message).toMatch(/volume vol-other-host, which Cinder did not map to it/);
    expect(outcome.message).toMatch(/500507680b224ac2.*not zoned to vHBA 1000/);
  });
});
