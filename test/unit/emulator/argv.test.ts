import { describe, expect, it } from "vitest";
import { buildQemuCommand, escapeOptionValue, shellQuote } from "../../../emulator/argv.js";
import { type MachineInput, MachineSchema } from "../../../emulator/machine.js";

const machine = (input: MachineInput) => MachineSchema.parse(input);

/** The value following each occurrence of `flag` in argv. */
const valuesOf = (argv: string[], flag: string) => argv.flatMap((a, i) => (a === flag ? [argv[i + 1]!] : []));

describe("buildQemuCommand", () => {
  it("uses TCG, no default devices, no reboot and a reboot timeout", () => {
    const { binary, argv } = buildQemuCommand(machine({ name: "m" }), {});
    expect(binary).toBe("qemu-system-x86_64");
    expect(valuesOf(argv, "-accel")).toEqual(["tcg"]);
    expect(valuesOf(argv, "-machine")).toEqual(["pc,graphics=off"]);
    expect(argv).toContain("-nodefaults");
    expect(argv).toContain("-no-reboot");
    expect(valuesOf(argv, "-boot")).toEqual(["strict=off,reboot-timeout=1000"]);
    expect(valuesOf(argv, "-serial")).toEqual(["chardev:console"]);
  });

  it("writes the serial console to stdout for a printed command and to a file under bootproof", () => {
    expect(valuesOf(buildQemuCommand(machine({ name: "m" }), {}).argv, "-chardev")).toEqual(["stdio,id=console,signal=off"]);
    const { argv } = buildQemuCommand(machine({ name: "m" }), { serialFile: "/run/a,b/serial.out" });
    expect(valuesOf(argv, "-chardev")).toEqual(["file,id=console,path=/run/a,,b/serial.out"]);
    expect(valuesOf(argv, "-serial")).toEqual(["chardev:console"]);
  });

  it("renders a pinned virtio-blk disk with serial and bootindex over a copy-on-write drive", () => {
    const { argv } = buildQemuCommand(
      machine({
        name: "m",
        drives: [{ id: "root", file: "/img/root.raw" }],
        disks: [{ kind: "virtio-blk", id: "vda", drive: "root", serial: "S1", bootIndex: 0, pciSlot: 11 }],
      }),
      {},
    );
    expect(valuesOf(argv, "-drive")).toEqual(["if=none,id=root,file=/img/root.raw,format=raw,snapshot=on"]);
    expect(valuesOf(argv, "-device")).toEqual(["virtio-blk-pci,id=vda,drive=root,serial=S1,bootindex=0,addr=0xb"]);
  });

  it("keeps read-only cdrom drives read-only without an overlay", () => {
    const { argv } = buildQemuCommand(
      machine({
        name: "m",
        drives: [{ id: "cd", file: "/a,b.iso", media: "cdrom", readOnly: true }],
        disks: [{ kind: "ide-cd", id: "cd0", drive: "cd", bus: 1, unit: 0 }],
      }),
      {},
    );
    expect(valuesOf(argv, "-drive")).toEqual(["if=none,id=cd,file=/a,,b.iso,format=raw,media=cdrom,readonly=on"]);
    expect(valuesOf(argv, "-device")).toEqual(["ide-cd,id=cd0,drive=cd,bus=ide.1,unit=0"]);
  });

  it("omits the IDE unit on q35 (AHCI ports) and the SCSI channel on lsi53c895a", () => {
    const { argv } = buildQemuCommand(
      machine({
        name: "m",
        machineType: "q35",
        drives: [
          { id: "a", file: "/a" },
          { id: "b", file: "/b" },
        ],
        controllers: [{ kind: "lsi53c895a", id: "lsi", pciSlot: 4 }],
        disks: [
          { kind: "ide-hd", id: "sata0", drive: "a", bus: 2 },
          { kind: "scsi-hd", id: "sd0", drive: "b", controller: "lsi", scsiId: 3, lun: 1, wwn: "0x5000c50015ea71ac" },
        ],
      }),
      {},
    );
    const devices = valuesOf(argv, "-device");
    expect(devices).toContain("lsi53c895a,id=lsi,addr=0x4");
    expect(devices).toContain("ide-hd,id=sata0,drive=a,bus=ide.2");
    expect(devices).toContain("scsi-hd,id=sd0,drive=b,bus=lsi.0,scsi-id=3,lun=1,wwn=0x5000c50015ea71ac");
  });

  it("puts floppy boot priority on the controller: -global on pc, an isa-fdc on q35", () => {
    const floppy = (machineType: "pc" | "q35") =>
      buildQemuCommand(
        machine({
          name: "m",
          machineType,
          drives: [{ id: "f", file: "/f" }],
          disks: [{ kind: "floppy", id: "fd0", drive: "f", bootIndex: 0 }],
        }),
        {},
      ).argv;
    expect(valuesOf(floppy("pc"), "-global")).toEqual(["isa-fdc.bootindexA=0"]);
    expect(valuesOf(floppy("q35"), "-device")).toEqual([
      "isa-fdc,id=fdc0,bootindexA=0",
      "floppy,id=fd0,drive=f,unit=0,bus=fdc0.0",
    ]);
  });

  it("emits controllers before disks before NICs, in declaration order (QEMU assigns free slots in argv order)", () => {
    const { argv } = buildQemuCommand(
      machine({
        name: "m",
        drives: [{ id: "d", file: "/d" }],
        nics: [{ id: "n0", model: "virtio-net-pci", user: { tftpRoot: "/srv", bootFile: "boot.ipxe", guestForwards: [] } }],
        disks: [{ kind: "usb-storage", id: "u", drive: "d", controller: "x", port: 2 }],
        controllers: [{ kind: "qemu-xhci", id: "x" }],
      }),
      {},
    );
    const devices = valuesOf(argv, "-device");
    expect(devices.map((d) => d.split(",")[0])).toEqual(["qemu-xhci", "usb-storage", "virtio-net-pci"]);
    expect(devices[1]).toBe("usb-storage,id=u,drive=d,bus=x.0,port=2");
    expect(valuesOf(argv, "-netdev")).toEqual(["user,id=net-n0,tftp=/srv,bootfile=boot.ipxe"]);
  });

  it("renders guestfwd rules and disables the option ROM on request", () => {
    const { argv } = buildQemuCommand(
      machine({
        name: "m",
        nics: [
          {
            id: "n0",
            model: "e1000",
            romFile: "none",
            user: { guestForwards: [{ guestAddress: "10.0.2.100", guestPort: 3260, hostPort: 40000 }] },
          },
        ],
      }),
      {},
    );
    expect(valuesOf(argv, "-netdev")).toEqual(["user,id=net-n0,guestfwd=tcp:10.0.2.100:3260-tcp:127.0.0.1:40000"]);
    expect(valuesOf(argv, "-device")).toEqual(["e1000,id=n0,netdev=net-n0,romfile="]);
  });

  it("requires a per-run VARS copy for OVMF and never writes the code image", () => {
    const m = machine({ name: "m", firmware: { kind: "ovmf" } });
    expect(() => buildQemuCommand(m, {})).toThrow(/ovmfVars/);
    const { argv } = buildQemuCommand(m, { ovmfVars: "/run/vars.fd" });
    expect(valuesOf(argv, "-drive")).toEqual([
      "if=pflash,format=raw,unit=0,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.fd",
      "if=pflash,format=raw,unit=1,file=/run/vars.fd",
    ]);
  });

  it("adds QMP, the firmware debug console and direct kernel boot when asked", () => {
    const { argv } = buildQemuCommand(
      machine({ name: "m", firmwareLog: true, directKernel: { kernel: "/k", initrd: "/i", cmdline: "console=ttyS0 a=b" } }),
      { qmpSocket: "/t/qmp.sock", firmwareLog: "/t/fw.log" },
    );
    expect(valuesOf(argv, "-qmp")).toEqual(["unix:/t/qmp.sock,server=on,wait=off"]);
    expect(valuesOf(argv, "-device")).toEqual(["isa-debugcon,iobase=0x402,chardev=firmware-log"]);
    expect(valuesOf(argv, "-append")).toEqual(["console=ttyS0 a=b"]);
    expect(valuesOf(argv, "-kernel")).toEqual(["/k"]);
  });

  it("is pure: the same machine gives the same argv", () => {
    const m = machine({ name: "m", drives: [{ id: "a", file: "/a" }], disks: [{ kind: "virtio-blk", id: "v", drive: "a" }] });
    expect(buildQemuCommand(m, {})).toEqual(buildQemuCommand(structuredClone(m), {}));
  });
});

describe("quoting", () => {
  it("doubles commas in option values and shell-quotes words that need it", () => {
    expect(escapeOptionValue("a,b,,c")).toBe("a,,b,,,,c");
    expect(shellQuote(["qemu", "-append", "console=ttyS0 x='y'"])).toBe(`qemu -append 'console=ttyS0 x='\\''y'\\'''`);
  });
});
