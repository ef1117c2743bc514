import { describe, expect, it } from "vitest";
import { type SupervisedPaths, supervisedCommand, userNetArgs } from "../../../harness/libvirt/argv.js";
import { type DomainInterface, summarizeDomain } from "../../../harness/libvirt/domain-xml.js";
import { guestNativeArgv, realXml } from "../../fixtures/libvirt/load.js";

const paths: SupervisedPaths = { qmpSocket: "/b/qmp.sock", serialFile: "/b/serial.out", masterKeyFile: "/b/master-key.aes" };
const nativeOf = (argv: string[]) => ({ argv, env: {} });

/** The value following `option`, for every occurrence. */
const valuesOf = (argv: string[], option: string) => argv.flatMap((a, i) => (a === option ? [argv[i + 1]!] : []));

/** libvirt's interface of the real virtio case (virtio, fa:16:3e:00:00:01 at 00:03.0), with overrides. */
const realNic = summarizeDomain(realXml("virtio-nic-virtio-rescue", "normal", "defined")).interfaces[0]!;
const nic = (overrides: Partial<DomainInterface> = {}): DomainInterface => ({ ...realNic, ...overrides });

describe("supervisedCommand on libvirt's real command line", () => {
  const native = guestNativeArgv("rescue");
  const { command, changes, nvramTemplate } = supervisedCommand(nativeOf(native), [], "pc", paths);

  it("keeps libvirt's binary and drops -S and -no-shutdown", () => {
    expect(native).toContain("-S");
    expect(native).toContain("-no-shutdown");
    expect(command.binary).toBe("/usr/bin/qemu-system-x86_64");
    expect(command.argv).not.toContain("-S");
    expect(command.argv).not.toContain("-no-shutdown");
    expect(changes).toContain("-S dropped: libvirt starts QEMU paused and resumes it over QMP; bootproof starts it running");
    expect(changes).toContain("-no-shutdown dropped: a guest power-off must end QEMU (libvirt watches QMP events instead)");
  });

  it("points the QMP monitor, the master key and the serial port at the boot's files", () => {
    expect(valuesOf(command.argv, "-chardev")).toEqual([
      "socket,id=charmonitor,path=/b/qmp.sock,server=on,wait=off",
      "file,id=charserial0,path=/b/serial.out",
    ]);
    const key = valuesOf(command.argv, "-object").map((v) => JSON.parse(v) as Record<string, unknown>);
    expect(key[0]).toEqual({ "qom-type": "secret", id: "masterKey0", format: "raw", file: "/b/master-key.aes" });
    // The other objects (RAM backend, RNG source) are libvirt's, unchanged.
    expect(valuesOf(command.argv, "-object").slice(1)).toEqual(valuesOf(native, "-object").slice(1));
    expect(changes).toContain("master key object → a per-boot key file");
    expect(changes).toContain("QMP monitor socket → /b/qmp.sock");
  });

  it("replaces the VNC server with -display none and keeps the video device", () => {
    expect(command.argv).not.toContain("-vnc");
    expect(valuesOf(command.argv, "-display")).toEqual(["none"]);
    expect(changes).toContain("-vnc 127.0.0.1:0,audiodev=audio1 → -display none (no graphics server; the video device stays)");
    expect(valuesOf(command.argv, "-device")).toContain(
      '{"driver":"virtio-vga","id":"video0","max_outputs":1,"bus":"pci.0","addr":"0x2"}',
    );
  });

  it("adds -no-reboot once, and keeps every device, drive and boot index of libvirt's", () => {
    expect(command.argv.filter((a) => a === "-no-reboot")).toHaveLength(1);
    expect(valuesOf(command.argv, "-device")).toEqual(valuesOf(native, "-device"));
    expect(valuesOf(command.argv, "-blockdev")).toEqual(valuesOf(native, "-blockdev"));
    expect(valuesOf(command.argv, "-device").find((d) => d.includes('"bootindex"'))).toContain('"addr":"0x6"');
    const again = supervisedCommand(nativeOf(command.argv), [], "pc", paths);
    expect(again.command.argv.filter((a) => a === "-no-reboot")).toHaveLength(1);
    expect(again.changes.some((c) => c.startsWith("-no-reboot"))).toBe(false);
  });

  it("changes nothing else: the result is libvirt's argv with exactly those edits", () => {
    const expected: string[] = [];
    for (let i = 1; i < native.length; i++) {
      const [option, value] = [native[i]!, native[i + 1]];
      if (option === "-S" || option === "-no-shutdown") continue;
      if (option === "-vnc") {
        expected.push("-display", "none");
        i++;
        continue;
      }
      if (value?.includes("masterKey0") || value?.includes("charmonitor") || value?.startsWith("file,id=charserial")) {
        expected.push(option, command.argv[expected.length + 1]!);
        i++;
        continue;
      }
      expected.push(option);
    }
    expect(command.argv).toEqual([...expected, "-no-reboot"]);
    expect(nvramTemplate).toBeUndefined();
  });

  it("adds each interface the way libvirt writes user-mode networking, at libvirt's address", () => {
    const withNic = supervisedCommand(nativeOf(guestNativeArgv("normal")), [realNic], "pc", paths);
    expect(withNic.command.argv.slice(-4)).toEqual([
      "-netdev",
      '{"type":"user","id":"hostnet0"}',
      "-device",
      '{"driver":"virtio-net-pci","netdev":"hostnet0","id":"net0","mac":"fa:16:3e:00:00:01","bus":"pci.0","addr":"0x3"}',
    ]);
    expect(withNic.changes.at(-1)).toBe(
      "interfaces added as libvirt writes user-mode networking, at libvirt's addresses: fa:16:3e:00:00:01 PCI 00:03.0",
    );
  });

  it("gives the UEFI variable store a per-boot copy and reports libvirt's template", () => {
    const vars =
      '{"driver":"file","filename":"/var/lib/libvirt/qemu/nvram/instance-00000001_VARS.fd","node-name":"libvirt-pflash1-storage"}';
    const code = '{"driver":"file","filename":"/usr/share/OVMF/OVMF_CODE_4M.fd","node-name":"libvirt-pflash0-storage"}';
    const argv = ["/usr/bin/qemu-system-x86_64", "-blockdev", code, "-blockdev", vars];
    const efi = supervisedCommand(nativeOf(argv), [], "q35", { ...paths, nvramFile: "/b/VARS.fd" });
    expect(efi.nvramTemplate).toBe("/var/lib/libvirt/qemu/nvram/instance-00000001_VARS.fd");
    expect(valuesOf(efi.command.argv, "-blockdev")).toEqual([
      code,
      '{"driver":"file","filename":"/b/VARS.fd","node-name":"libvirt-pflash1-storage"}',
    ]);
    expect(efi.changes).toContain(
      "UEFI variable store /var/lib/libvirt/qemu/nvram/instance-00000001_VARS.fd → per-boot copy /b/VARS.fd",
    );
    // Without a per-boot path the store is left alone.
    const untouched = supervisedCommand(nativeOf(argv), [], "q35", paths);
    expect(valuesOf(untouched.command.argv, "-blockdev")).toEqual([code, vars]);
    expect(untouched.nvramTemplate).toBeUndefined();
  });

  it("refuses an empty command line", () => {
    expect(() => supervisedCommand(nativeOf([]), [], "pc", paths)).toThrow("libvirt produced an empty command line");
  });
});

describe("userNetArgs", () => {
  const device = (args: string[]) => JSON.parse(args[3]!) as Record<string, unknown>;

  it("writes the PCI bus alias, slot and function, boot index and ROM file", () => {
    expect(
      device(
        userNetArgs(
          nic({
            index: 1,
            address: { type: "pci", domain: 0, bus: 3, slot: 0x1a, function: 1 },
            bootOrder: 2,
            romFile: "/r.rom",
          }),
          "q35",
        ),
      ),
    ).toEqual({
      driver: "virtio-net-pci",
      netdev: "hostnet1",
      id: "net1",
      mac: "fa:16:3e:00:00:01",
      bus: "pci.3",
      addr: "0x1a.0x1",
      bootindex: 2,
      romfile: "/r.rom",
    });
  });

  it("uses libvirt's default model per machine type and maps e1000", () => {
    expect(device(userNetArgs(nic({ model: null }), "pc")).driver).toBe("rtl8139");
    expect(device(userNetArgs(nic({ model: null }), "q35")).driver).toBe("e1000e");
    expect(device(userNetArgs(nic({ model: "e1000" }), "pc")).driver).toBe("e1000");
  });

  it("leaves bus and addr to QEMU when libvirt gave no address, and omits a missing MAC", () => {
    expect(device(userNetArgs(nic({ address: null, mac: null }), "pc"))).toEqual({
      driver: "virtio-net-pci",
      netdev: "hostnet0",
      id: "net0",
    });
  });

  it("refuses a model it cannot attach and an address that is not PCI", () => {
    expect(() => userNetArgs(nic({ model: "vmxnet3" }), "pc")).toThrow(
      "interface fa:16:3e:00:00:01: NIC model 'vmxnet3' is not one bootproof can attach",
    );
    expect(() => userNetArgs(nic({ address: { type: "usb", bus: 0, port: "1" } }), "pc")).toThrow(
      "interface fa:16:3e:00:00:01: USB 0-1 is not a PCI address",
    );
  });
});
