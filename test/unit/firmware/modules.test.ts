import { readFileSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { type MachineInput, MachineSchema } from "../../../emulator/machine.js";
import { fetchGuestKernel, findGuestKernel, type GuestKernel } from "../../../firmware/kernel.js";
import { elfSection, isStaticExecutable, moduleInfo, parseModinfo } from "../../../firmware/probe/elf.js";
import {
  MODULE_PARAMETERS,
  moduleDependencies,
  modulesForMachine,
  normalizeModuleName,
  resolveModuleLoadOrder,
  USB_HOST_CONTROLLER_MODULES,
  usbHostControllerModules,
} from "../../../firmware/probe/modules.js";

const machine = (input: Omit<MachineInput, "name">) => MachineSchema.parse({ name: "m", ...input });

describe("modulesForMachine", () => {
  it("always loads qemu_fw_cfg and the chipset disk controller driver, even for an empty machine", () => {
    expect(modulesForMachine(machine({}))).toEqual(["qemu_fw_cfg", "ata_piix", "sd_mod", "sr_mod"]);
  });

  it("maps every device kind to its drivers", () => {
    const m = machine({
      drives: ["a", "b", "c", "d", "e", "f"].map((id) => ({ id, file: "" })),
      controllers: [
        { kind: "virtio-scsi-pci", id: "scsi0" },
        { kind: "qemu-xhci", id: "xhci" },
      ],
      disks: [
        { kind: "virtio-blk", id: "v", drive: "a" },
        { kind: "scsi-hd", id: "s", drive: "b", controller: "scsi0", scsiId: 0 },
        { kind: "ide-cd", id: "i", drive: "c", bus: 1 },
        { kind: "usb-storage", id: "u", drive: "d", controller: "xhci" },
        { kind: "floppy", id: "f", drive: "e" },
      ],
      nics: [{ id: "n", model: "e1000" }],
    });
    // Host adapter drivers in PCI order (the chipset's PIIX3 IDE first, then the unpinned
    // controllers in declaration order), and the SCSI upper drivers after all of them.
    expect(modulesForMachine(m)).toEqual([
      "e1000",
      "floppy",
      "iscsi_boot_sysfs",
      "iscsi_ibft",
      "qemu_fw_cfg",
      "virtio_blk",
      "virtio_pci",
      "ata_piix",
      "virtio_scsi",
      "usb_storage",
      "xhci_pci",
      "sd_mod",
      "sr_mod",
    ]);
  });

  it("loads host adapter drivers by controller PCI slot, so a later controller never renumbers earlier hosts", () => {
    const base = {
      drives: [
        { id: "a", file: "" },
        { id: "b", file: "" },
      ],
      controllers: [
        { kind: "lsi53c895a" as const, id: "lsi", pciSlot: 9 },
        { kind: "virtio-scsi-pci" as const, id: "vscsi", pciSlot: 4 },
      ],
      disks: [
        { kind: "scsi-hd" as const, id: "s1", drive: "a", controller: "lsi", scsiId: 0 },
        { kind: "scsi-hd" as const, id: "s2", drive: "b", controller: "vscsi", scsiId: 0 },
      ],
    };
    const order = modulesForMachine(machine(base));
    expect(order.indexOf("virtio_scsi")).toBeLessThan(order.indexOf("sym53c8xx"));
  });

  it("uses ahci for IDE devices on q35, sym53c8xx for the LSI controller, virtio_net for virtio NICs", () => {
    const m = machine({
      machineType: "q35",
      drives: [{ id: "a", file: "" }],
      controllers: [{ kind: "lsi53c895a", id: "lsi" }],
      disks: [{ kind: "ide-hd", id: "i", drive: "a", bus: 0 }],
      nics: [{ id: "n", model: "virtio-net-pci" }],
    });
    const modules = modulesForMachine(m);
    expect(modules).toContain("ahci");
    expect(modules).not.toContain("ata_piix");
    expect(modules).toEqual(expect.arrayContaining(["sym53c8xx", "sd_mod", "virtio_net", "virtio_pci", "iscsi_ibft"]));
  });

  it("treats '-' and '_' alike", () => {
    expect(normalizeModuleName("usb-storage")).toBe("usb_storage");
  });
});

describe("ELF reading", () => {
  it("tells static from dynamic executables", () => {
    expect(isStaticExecutable(readFileSync("/bin/busybox"), "/bin/busybox")).toBe(true);
    expect(isStaticExecutable(readFileSync("/bin/ls"), "/bin/ls")).toBe(false);
    expect(() => isStaticExecutable(Buffer.from("#!/bin/sh\n".padEnd(80)), "script")).toThrow(/not an ELF/);
  });

  it("parses repeated .modinfo keys", () => {
    const info = parseModinfo(Buffer.from("alias=a\0alias=b\0depends=x,y\0\0license=GPL\0"));
    expect(info.get("alias")).toEqual(["a", "b"]);
    expect(info.get("depends")).toEqual(["x,y"]);
  });

  it("finds no .modinfo in a plain executable", () => {
    expect(elfSection(readFileSync("/bin/busybox"), ".modinfo")).toBeUndefined();
    expect(() => moduleInfo(readFileSync("/bin/busybox"), "/bin/busybox")).toThrow(/no .modinfo/);
  });
});

describe("usbHostControllerModules", () => {
  it("maps libvirt and QEMU controller models to host controller drivers", () => {
    expect(usbHostControllerModules("piix3-uhci")).toEqual(["uhci_hcd"]);
    expect(usbHostControllerModules("piix4-usb-uhci", "ich9-uhci2")).toEqual(["uhci_hcd"]);
    expect(usbHostControllerModules("qemu-xhci", "nec-xhci")).toEqual(["xhci_pci"]);
    expect(usbHostControllerModules("none")).toEqual([]);
  });

  it("loads EHCI before its UHCI companions, whatever the order asked", () => {
    expect(usbHostControllerModules("ich9-uhci1", "qemu-xhci", "ich9-ehci1")).toEqual([
      "ehci_hcd",
      "ehci_pci",
      "uhci_hcd",
      "xhci_pci",
    ]);
  });

  it("rejects an unknown model, naming the known ones", () => {
    expect(() => usbHostControllerModules("toString")).toThrow(
      /unknown USB host controller model 'toString' \(known: .*piix3-uhci/,
    );
  });
});

describe("module dependencies of the real guest kernel", () => {
  let kernel: GuestKernel;
  beforeAll(async () => {
    // The cached kernel if there is one (no apt call), else download it once.
    kernel = (await findGuestKernel()) ?? (await fetchGuestKernel());
  }, 600_000);

  it("reads depends= from the module's own .modinfo", async () => {
    const order = await resolveModuleLoadOrder(kernel, ["virtio_blk"]);
    const virtioBlk = order.at(-1)!;
    expect(virtioBlk.name).toBe("virtio_blk");
    expect(virtioBlk.path).toMatch(/\/drivers\/block\/virtio_blk\.ko$/);
    expect((await moduleDependencies(virtioBlk.path)).sort()).toEqual(["virtio", "virtio_ring"]);
    expect(moduleInfo(readFileSync(virtioBlk.path), virtioBlk.path).get("name")).toEqual(["virtio_blk"]);
  });

  it("orders every module after all its dependencies, once each", async () => {
    const order = await resolveModuleLoadOrder(kernel, [
      "usb-storage",
      "sd_mod",
      "virtio_scsi",
      "sr_mod",
      "virtio_net",
      "iscsi_ibft",
    ]);
    const names = order.map((m) => m.name);
    expect(new Set(names).size).toBe(names.length);
    for (const [index, module] of order.entries()) {
      for (const dependency of await moduleDependencies(module.path)) {
        expect(names.indexOf(dependency), `${dependency} before ${module.name}`).toBeGreaterThanOrEqual(0);
        expect(names.indexOf(dependency)).toBeLessThan(index);
      }
    }
    expect(names).toEqual(expect.arrayContaining(["usbcore", "usb_storage", "scsi_mod", "sd_mod", "cdrom", "iscsi_boot_sysfs"]));
    expect(names.indexOf("scsi_mod")).toBeLessThan(names.indexOf("usb_storage"));
  });

  it("names an unknown module and the module that needed it", async () => {
    await expect(resolveModuleLoadOrder(kernel, ["no_such_driver"])).rejects.toThrow(
      /'no_such_driver' does not exist in guest kernel 6\./,
    );
  });

  it("passes only parameters the modules declare (a typo would make insmod fail)", async () => {
    for (const [name, parameters] of Object.entries(MODULE_PARAMETERS)) {
      const module = (await resolveModuleLoadOrder(kernel, [name])).at(-1)!;
      const declared = (moduleInfo(readFileSync(module.path), module.path).get("parm") ?? []).map((p) => p.split(":")[0]);
      for (const parameter of parameters.split(" ")) expect(declared).toContain(parameter.split("=")[0]);
    }
  });

  it("finds every module modulesForMachine can ask for", async () => {
    const all = ["ahci", "ata_piix", "e1000", "floppy", "iscsi_boot_sysfs", "iscsi_ibft", "qemu_fw_cfg", "sd_mod", "sr_mod"];
    const more = ["sym53c8xx", "usb_storage", "virtio_blk", "virtio_net", "virtio_pci", "virtio_scsi", "xhci_pci"];
    const order = await resolveModuleLoadOrder(kernel, [...all, ...more]);
    expect(order.map((m) => m.name)).toEqual(expect.arrayContaining([...all, ...more]));
  });

  it("finds every USB host controller driver (all modules, none built in)", async () => {
    const usb = usbHostControllerModules(...Object.keys(USB_HOST_CONTROLLER_MODULES));
    const names = (await resolveModuleLoadOrder(kernel, usb)).map((m) => m.name);
    expect(names).toEqual(expect.arrayContaining([...usb, "usbcore", "usb_common", "xhci_hcd"]));
    expect(names.indexOf("ehci_hcd")).toBeLessThan(names.indexOf("uhci_hcd"));
  });
});
