// SAN LUs through QEMU's iSCSI initiator and the HBAs that carry them: the argv (a protocol
// node per drive, FC identities on the scsi-hd, strict boot) and the validation that names
// the field and the fix.
import { describe, expect, it } from "vitest";
import { buildQemuCommand } from "../../../emulator/argv.js";
import type { MachineInput } from "../../../emulator/machine.js";
import { parseMachine } from "../../../emulator/validate.js";

const san = (over: Partial<MachineInput> = {}, controller: "megasas" | "pvscsi" = "megasas"): MachineInput => ({
  name: "san",
  bootStrict: true,
  controllers: [{ kind: controller, id: "hba0", pciSlot: 5 }],
  drives: [
    {
      id: "lu0",
      file: "",
      iscsi: {
        host: "127.0.0.1",
        port: 3260,
        target: "iqn.2024-01.dev.bootproof:san",
        lun: 2,
        initiatorName: "iqn.2024-01.dev.bootproof:hba0",
        timeoutSeconds: 3,
      },
    },
  ],
  disks: [
    {
      kind: "scsi-hd",
      id: "path0",
      drive: "lu0",
      controller: "hba0",
      scsiId: 1,
      lun: 2,
      wwn: "0x6005076801234567",
      portWwn: "0x500507680b214ac1",
      portIndex: 1,
      bootIndex: 0,
    },
  ],
  ...over,
});

describe("SAN drives", () => {
  it("renders the LU as an iSCSI protocol node and the path with its FC identities", () => {
    const { argv } = buildQemuCommand(parseMachine(san()), {});
    expect(argv).toContain(
      "driver=iscsi,node-name=lu0,transport=tcp,portal=127.0.0.1:3260,target=iqn.2024-01.dev.bootproof:san,lun=2,initiator-name=iqn.2024-01.dev.bootproof:hba0,timeout=3",
    );
    expect(argv).toContain("megasas,id=hba0,addr=0x5");
    expect(argv).toContain(
      "scsi-hd,id=path0,drive=lu0,bus=hba0.0,channel=0,scsi-id=1,lun=2,wwn=0x6005076801234567,port_wwn=0x500507680b214ac1,port_index=1,bootindex=0",
    );
    expect(argv).toContain("strict=on,reboot-timeout=1000");
    expect(argv.join(" ")).not.toMatch(/snapshot=on|-drive if=none,id=lu0/);
  });

  it("attaches an iSCSI LU to a virtio-blk disk (a local disk whose writes the target sees)", () => {
    const local = san({ disks: [{ kind: "virtio-blk", id: "local0", drive: "lu0", serial: "LOCAL0" }] });
    const argv = buildQemuCommand(parseMachine(local), {}).argv.join(" ");
    expect(argv).toMatch(/-blockdev driver=iscsi,node-name=lu0,/);
    expect(argv).toMatch(/-device virtio-blk-pci,id=local0,drive=lu0/);
  });

  it("accepts a file-free iSCSI drive even when files are checked", () => {
    expect(() => parseMachine(san(), { checkFiles: true })).not.toThrow();
  });

  it("refuses a portal off loopback, a file next to the LU, and an iSCSI LU on an IDE disk", () => {
    const bad = san({
      drives: [
        { id: "lu0", file: "/tmp/x.img", iscsi: { host: "10.0.0.5", port: 3260, target: "iqn.2024-01.dev.bootproof:san" } },
      ],
      disks: [{ kind: "ide-hd", id: "path0", drive: "lu0", bus: 0 }],
    });
    expect(() => parseMachine(bad)).toThrow(
      /drives\[0\]\.file: an iSCSI drive has no file[\s\S]*drives\[0\]\.iscsi\.host: 10\.0\.0\.5 is not a loopback address[\s\S]*disks\[0\]: drive 'lu0' is an iSCSI LU; attach it with scsi-hd/,
    );
  });

  it("refuses a malformed target name and a LUN pvscsi cannot address", () => {
    const name = san({ drives: [{ id: "lu0", file: "", iscsi: { host: "127.0.0.1", port: 1, target: "not-a-name" } }] });
    expect(() => parseMachine(name)).toThrow(/drives\[0\]\.iscsi\.target: must be an iSCSI name/);
    expect(() => parseMachine(san({}, "pvscsi"))).toThrow(/disks\[0\]\.lun: pvscsi supports LUNs 0\.\.0/);
  });

  it("lists every SCSI HBA when a disk names a controller that is none", () => {
    const usb = san({ controllers: [{ kind: "qemu-xhci", id: "hba0" }] });
    expect(() => parseMachine(usb)).toThrow(/declare one of: virtio-scsi-pci, lsi53c895a, megasas, pvscsi/);
  });
});
