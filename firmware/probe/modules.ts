// Which kernel modules the probe must load for a machine, and in which order. Debian's
// kernel builds every storage and network driver as a module and the unpacked package has
// no modules.dep, so dependencies come from each module's own .modinfo "depends=" field.
import { readdir, readFile } from "node:fs/promises";
import { join, relative } from "node:path";
import type { Machine } from "../../emulator/machine.js";
import { byCodePoint } from "../code-point-order.js";
import type { GuestKernel } from "../kernel.js";
import { moduleInfo } from "./elf.js";

/** Kernel module names compare with '-' and '_' as the same character (as modprobe does). */
export function normalizeModuleName(name: string): string {
  return name.trim().replace(/-/g, "_");
}

/**
 * Parameters the probe passes to insmod. Waits meant for slow real hardware cost seconds
 * per boot and emulated devices answer at once: usb-storage waits delay_use (default 1 s)
 * before scanning a new device; sym53c8xx lets the SCSI bus settle 3 s after its reset.
 */
export const MODULE_PARAMETERS: Readonly<Record<string, string>> = {
  // Synchronous scanning: a host's LUNs get their names in scan order, not in a race.
  scsi_mod: "scan=sync",
  usb_storage: "delay_use=0",
  sym53c8xx: "settle=0",
};

/** The modules a probe needs to see every disk, CD, floppy and NIC of the machine. */
export function modulesForMachine(machine: Machine): string[] {
  // The chipset's own disk controller exists whether or not a disk hangs off it, and a real
  // guest always loads its driver: its SCSI hosts must exist in every boot of a machine.
  const chipsetDriver = machine.machineType === "q35" ? "ahci" : "ata_piix";
  const names = new Set<string>(["qemu_fw_cfg", chipsetDriver, "sd_mod", "sr_mod"]);
  const add = (...modules: string[]) => {
    for (const m of modules) names.add(m);
  };
  for (const controller of machine.controllers) {
    if (controller.kind === "virtio-scsi-pci") add("virtio_pci", "virtio_scsi", "sd_mod", "sr_mod");
    if (controller.kind === "lsi53c895a") add("sym53c8xx", "sd_mod", "sr_mod");
    if (controller.kind === "megasas") add("megaraid_sas", "sd_mod", "sr_mod");
    if (controller.kind === "pvscsi") add("vmw_pvscsi", "sd_mod", "sr_mod");
    if (controller.kind === "qemu-xhci") add("xhci_pci");
  }
  for (const disk of machine.disks) {
    switch (disk.kind) {
      case "virtio-blk":
        add("virtio_pci", "virtio_blk");
        break;
      case "scsi-hd":
        add("sd_mod");
        break;
      case "scsi-cd":
        add("sr_mod");
        break;
      case "ide-hd":
      case "ide-cd":
        // pc has a PIIX3 IDE controller; on q35 the "ide" buses are the ICH9 AHCI ports.
        add(machine.machineType === "q35" ? "ahci" : "ata_piix", disk.kind === "ide-hd" ? "sd_mod" : "sr_mod");
        break;
      case "usb-storage":
        add("xhci_pci", "usb_storage", "sd_mod");
        break;
      case "floppy":
        add("floppy");
        break;
    }
  }
  for (const nic of machine.nics) {
    add(nic.model === "virtio-net-pci" ? "virtio_net" : "e1000");
    if (nic.model === "virtio-net-pci") add("virtio_pci");
  }
  // A NIC means the guest may have been booted over iSCSI: the iBFT must then be readable.
  if (machine.nics.length > 0) add("iscsi_boot_sysfs", "iscsi_ibft");
  const rank = hostAdapterRanks(machine);
  return [...names].sort((a, b) => (rank.get(a) ?? -1) - (rank.get(b) ?? -1) || byCodePoint(a, b));
}

function sameModules(models: string[], modules: readonly string[]): Record<string, readonly string[]> {
  return Object.fromEntries(models.map((m) => [m, modules]));
}

/**
 * USB host controller models (libvirt's `<controller type='usb' model=...>` names and QEMU's
 * `-device` names) → the driver modules that make their buses and devices appear in the guest.
 * Debian's kernel builds all of them as modules (CONFIG_USB_{UHCI,EHCI,OHCI,XHCI}_HCD=m);
 * usbcore, usb-common and xhci-hcd come in as dependencies (resolveModuleLoadOrder). No class driver is
 * needed for the inventory: a usb-tablet enumerates as a USB device without usbhid.
 */
export const USB_HOST_CONTROLLER_MODULES: Readonly<Record<string, readonly string[]>> = {
  ...sameModules(["piix3-uhci", "piix4-uhci", "piix3-usb-uhci", "piix4-usb-uhci"], ["uhci_hcd"]),
  ...sameModules(["ich9-uhci1", "ich9-uhci2", "ich9-uhci3"], ["uhci_hcd"]),
  ...sameModules(
    [1, 2, 3, 4, 5, 6].map((n) => `ich9-usb-uhci${n}`),
    ["uhci_hcd"],
  ),
  ...sameModules(["ehci", "usb-ehci", "ich9-ehci1", "ich9-usb-ehci1", "ich9-usb-ehci2"], ["ehci_hcd", "ehci_pci"]),
  ...sameModules(["qemu-xhci", "nec-xhci", "nec-usb-xhci"], ["xhci_pci"]),
  "pci-ohci": ["ohci_pci"],
  none: [],
};

// EHCI must load before its UHCI/OHCI companions (Linux warns otherwise and the companions'
// ports may be claimed in a different order).
const USB_HOST_MODULE_ORDER = ["ehci_hcd", "ehci_pci", "ohci_hcd", "ohci_pci", "uhci_hcd", "xhci_pci"];

/** The modules for the given USB controller models, deduplicated, EHCI before its companions. */
export function usbHostControllerModules(...models: string[]): string[] {
  const wanted = new Set<string>();
  for (const model of models) {
    const modules = Object.hasOwn(USB_HOST_CONTROLLER_MODULES, model) ? USB_HOST_CONTROLLER_MODULES[model] : undefined;
    if (!modules) {
      const known = Object.keys(USB_HOST_CONTROLLER_MODULES).sort(byCodePoint).join(", ");
      throw new Error(`unknown USB host controller model '${model}' (known: ${known})`);
    }
    for (const m of modules) wanted.add(m);
  }
  return USB_HOST_MODULE_ORDER.filter((m) => wanted.has(m));
}

/**
 * Linux numbers SCSI hosts (the H of H:C:T:L) in the order their drivers probe. A booted
 * system's udev loads drivers roughly in PCI order, so the probe loads host adapter drivers
 * by the PCI slot of their first controller: adding a controller at a later slot (a rescue
 * device's) then leaves every existing host number alone, as it does on a real guest.
 * Unpinned controllers rank after pinned ones, in declaration order.
 */
function hostAdapterRanks(machine: Machine): Map<string, number> {
  const ranks = new Map<string, number>();
  const note = (module: string, rank: number) => ranks.set(module, Math.min(ranks.get(module) ?? rank, rank));
  // The chipset's controller comes first: an early-loaded driver in a real initramfs, and
  // never renumbered by controllers a rescue adds.
  note(machine.machineType === "q35" ? "ahci" : "ata_piix", 0);
  // The upper drivers come last: by then every host has scanned (the probe settles after each
  // adapter), and sd/sr bind to the SCSI devices in their bus order. Loaded earlier, sd's
  // asynchronous probes race with the other ports' scans and sdX names follow the race.
  note("sd_mod", 1000);
  note("sr_mod", 1000);
  machine.controllers.forEach((controller, index) => {
    const rank = controller.pciSlot ?? 32 + index;
    if (controller.kind === "virtio-scsi-pci") note("virtio_scsi", rank);
    if (controller.kind === "lsi53c895a") note("sym53c8xx", rank);
    if (controller.kind === "megasas") note("megaraid_sas", rank);
    if (controller.kind === "pvscsi") note("vmw_pvscsi", rank);
    if (controller.kind === "qemu-xhci") {
      note("xhci_pci", rank);
      note("usb_storage", rank);
    }
  });
  return ranks;
}

export interface ModuleFile {
  name: string;
  /** Absolute path of the .ko on the host. */
  path: string;
}

const moduleIndexes = new Map<string, Promise<Map<string, string>>>();

async function walkModules(dir: string, found: Map<string, string>): Promise<void> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) await walkModules(path, found);
    else if (entry.name.endsWith(".ko")) found.set(normalizeModuleName(entry.name.slice(0, -3)), path);
  }
}

/** Module name → .ko path for every module of the kernel (built once per modules directory). */
export function moduleIndex(kernel: GuestKernel): Promise<Map<string, string>> {
  let index = moduleIndexes.get(kernel.modulesDir);
  if (!index) {
    index = (async () => {
      const found = new Map<string, string>();
      await walkModules(join(kernel.modulesDir, "kernel"), found).catch((error: Error) => {
        throw new Error(`cannot list the modules of guest kernel ${kernel.release} in ${kernel.modulesDir}: ${error.message}`);
      });
      if (found.size === 0) {
        throw new Error(
          `guest kernel ${kernel.release} has no .ko modules under ${kernel.modulesDir} (compressed .ko.xz modules are not supported)`,
        );
      }
      return found;
    })();
    index.catch(() => moduleIndexes.delete(kernel.modulesDir));
    moduleIndexes.set(kernel.modulesDir, index);
  }
  return index;
}

/** The module's direct dependencies, from its .modinfo "depends=" (comma-separated). */
export async function moduleDependencies(path: string): Promise<string[]> {
  const info = moduleInfo(await readFile(path), path);
  return (info.get("depends") ?? [])
    .flatMap((value) => value.split(","))
    .map(normalizeModuleName)
    .filter((name) => name !== "");
}

/** Module names listed in modules.builtin ("kernel/drivers/x/name.ko" lines): part of the image. */
export function parseModulesBuiltin(text: string): Set<string> {
  const names = new Set<string>();
  for (const line of text.split("\n")) {
    const file = line.trim().split("/").pop() ?? "";
    if (file.endsWith(".ko")) names.add(normalizeModuleName(file.slice(0, -3)));
  }
  return names;
}

const builtinSets = new Map<string, Promise<Set<string>>>();

/**
 * The modules built into the kernel image. The fast probe kernel builds in what has nothing
 * to order (fw_cfg, iBFT, NFS, the SCSI/ATA/USB cores): the probe asks for them by name on
 * every kernel, and there they need no insmod. No modules.builtin: nothing is built in.
 */
export function builtinModules(kernel: GuestKernel): Promise<Set<string>> {
  let set = builtinSets.get(kernel.modulesDir);
  if (!set) {
    set = readFile(join(kernel.modulesDir, "modules.builtin"), "utf8").then(
      parseModulesBuiltin,
      (error: NodeJS.ErrnoException) => {
        if (error.code === "ENOENT") return new Set<string>();
        throw new Error(`cannot read ${join(kernel.modulesDir, "modules.builtin")}: ${error.message}`);
      },
    );
    builtinSets.set(kernel.modulesDir, set);
  }
  return set;
}

/**
 * The named modules plus everything they depend on, dependencies first (the order insmod
 * needs), without those built into the kernel. Names are deduplicated; the result is
 * deterministic for a given input.
 */
export async function resolveModuleLoadOrder(kernel: GuestKernel, names: string[]): Promise<ModuleFile[]> {
  const index = await moduleIndex(kernel);
  const builtin = await builtinModules(kernel);
  const order: ModuleFile[] = [];
  const done = new Set<string>();
  const visiting: string[] = [];

  const visit = async (rawName: string, neededBy: string | undefined): Promise<void> => {
    const name = normalizeModuleName(rawName);
    if (done.has(name)) return;
    if (builtin.has(name)) return; // built into the image: nothing to insmod
    if (visiting.includes(name))
      throw new Error(`kernel modules depend on each other in a cycle: ${[...visiting, name].join(" → ")}`);
    const path = index.get(name);
    if (!path) {
      const via = neededBy ? ` (a dependency of ${neededBy})` : "";
      throw new Error(
        `kernel module '${rawName}'${via} does not exist in guest kernel ${kernel.release} (${kernel.modulesDir}); ` +
          "check the name, or whether this kernel builds that driver into the image instead of as a module",
      );
    }
    visiting.push(name);
    for (const dependency of await moduleDependencies(path)) await visit(dependency, name);
    visiting.pop();
    done.add(name);
    order.push({ name, path });
  };

  for (const name of names) await visit(name, undefined);
  return order;
}

/** Path of a module inside the initramfs, mirroring the kernel's own layout. */
export function moduleGuestPath(kernel: GuestKernel, module: ModuleFile): string {
  return join("lib/modules", kernel.release, relative(kernel.modulesDir, module.path));
}
