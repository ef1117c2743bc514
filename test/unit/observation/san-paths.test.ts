// What the guest says about SAN paths: VPD 0x83 read by association (the LU's WWN, the
// target port's WWPN and relative port, as QEMU's scsi-hd reports them), the firmware's
// boot device from fw_cfg's boot order, and the paths with the booted one marked.
import { describe, expect, it } from "vitest";
import { type Observation, scsiPortFromVpd83 } from "../../../firmware/observation.js";
import { bootDeviceAddress, observedSanPaths } from "../../../scenarios/common/san-observed.js";

// Measured: a megasas LU with wwn, port_wwn and port_index=1 (QEMU 7.2, Linux 6.1 vpd_pg83).
const QEMU_PAGE = "0083002001030008600507680123456761930008500507680b214ac16194000400000001";

describe("VPD 0x83 path identity", () => {
  it("reads the LU's NAA, the target port's NAA and the relative target port", () => {
    expect(scsiPortFromVpd83(QEMU_PAGE)).toEqual({
      lunWwn: "6005076801234567",
      targetPortWwn: "500507680b214ac1",
      relativeTargetPort: 1,
    });
  });

  it("keeps what a short or foreign page holds", () => {
    expect(scsiPortFromVpd83("0083000c010300086005076801234567")).toEqual({
      lunWwn: "6005076801234567",
      targetPortWwn: null,
      relativeTargetPort: null,
    });
    expect(scsiPortFromVpd83(QEMU_PAGE.slice(0, 40))).toEqual({
      lunWwn: "6005076801234567",
      targetPortWwn: null,
      relativeTargetPort: null,
    });
    expect(scsiPortFromVpd83("0080000441424344")).toBeNull();
    expect(scsiPortFromVpd83(null)).toBeNull();
  });
});

describe("boot device", () => {
  it("reads the HBA slot, target and LUN (hex) of the first boot order entry", () => {
    expect(bootDeviceAddress(["/pci@i0cf8/scsi@5/channel@0/disk@0,0", "HALT"])).toEqual({ pciBdf: "00:05.0", scsiId: 0, lun: 0 });
    expect(bootDeviceAddress(["/pci@i0cf8/raid@1a/channel@0/disk@b,1f"])).toEqual({ pciBdf: "00:1a.0", scsiId: 11, lun: 31 });
    expect(bootDeviceAddress(["/pci@i0cf8/ethernet@1e", "HALT"])).toBeNull();
    expect(bootDeviceAddress([])).toBeNull();
    expect(bootDeviceAddress(null)).toBeNull();
  });
});

const device = (name: string, hctl: string, slot: string, lunWwn: string, port: string, rel: number) => ({
  name,
  sizeBytes: 1 << 20,
  sysfsPath: `/sys/devices/pci0000:00/0000:00:${slot}/host2/target${hctl}/${hctl}/block/${name}`,
  bus: "scsi" as const,
  pciBdf: `00:${slot}`,
  hctl,
  usbPath: null,
  serial: null,
  wwid: null,
  naaIds: [lunWwn, port],
  scsiPort: { lunWwn, targetPortWwn: port, relativeTargetPort: rel },
  vendor: "QEMU",
  model: "QEMU HARDDISK",
  removable: false,
  readOnly: false,
});

const observation = (role: string | null, bootOrder: string[]): Observation =>
  ({
    role,
    bootOrder,
    blockDevices: [
      device("sda", "2:0:0:0", "05.0", "6005076801234567", "500507680b214ac1", 1),
      device("sdb", "2:0:1:0", "05.0", "6005076801234567", "500507680b244ac0", 2),
    ],
  }) as unknown as Observation;

describe("observed SAN paths", () => {
  it("lists each path of the LU and marks the one the firmware booted", () => {
    const paths = observedSanPaths(observation("root", ["/pci@i0cf8/scsi@5/channel@0/disk@1,0", "HALT"]));
    expect(paths.map((p) => [p.device, p.targetPortWwn, p.relativeTargetPort, p.booted])).toEqual([
      ["sda", "500507680b214ac1", 1, false],
      ["sdb", "500507680b244ac0", 2, true],
    ]);
  });

  it("marks none when the guest was not booted from a medium (no role marker)", () => {
    expect(observedSanPaths(observation(null, ["/pci@i0cf8/scsi@5/channel@0/disk@1,0"])).some((p) => p.booted)).toBe(false);
  });
});
