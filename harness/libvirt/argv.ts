// libvirt's QEMU command line → the command bootproof supervises. Pure. Every change is a
// host-side plumbing change the guest cannot see, listed in `changes` (recorded as an
// artifact); the devices, their addresses, drives and boot indexes are libvirt's.
import type { QemuCommand } from "../../emulator/argv.js";
import { type DeviceAddress, type DomainInterface, formatAddress } from "./domain-xml.js";

export interface SupervisedPaths {
  qmpSocket: string;
  serialFile: string;
  /** libvirt's master key (encrypts secrets passed to QEMU): a per-boot file bootproof writes. */
  masterKeyFile: string;
  /** Per-boot copy of the UEFI variable store, when the domain has one. */
  nvramFile?: string;
}

export interface SupervisedCommand {
  command: QemuCommand;
  changes: string[];
  /** The NVRAM file libvirt's command line named, replaced by paths.nvramFile (recorded, not used). */
  nvramTemplate?: string;
}

/** libvirt's PCI bus alias for a controller index: pci.0 is the root, pci.N a bridge/root port. */
function pciBusAlias(address: Extract<DeviceAddress, { type: "pci" }>): string {
  return `pci.${address.bus}`;
}

const NIC_DRIVER: Record<string, string> = {
  virtio: "virtio-net-pci",
  e1000: "e1000",
  e1000e: "e1000e",
  rtl8139: "rtl8139",
  ne2k_pci: "ne2k_pci",
  pcnet: "pcnet",
};

/** The -netdev/-device pair libvirt writes for `<interface type='user'>` (qemuBuildNetCommandLine). */
export function userNetArgs(nic: DomainInterface, machineType: "pc" | "q35"): string[] {
  const model = nic.model ?? (machineType === "q35" ? "e1000e" : "rtl8139");
  const driver = NIC_DRIVER[model];
  if (!driver) throw new Error(`interface ${nic.mac ?? nic.index}: NIC model '${model}' is not one bootproof can attach`);
  const device: Record<string, unknown> = { driver, netdev: `hostnet${nic.index}`, id: `net${nic.index}` };
  if (nic.mac) device.mac = nic.mac;
  if (nic.address?.type === "pci") {
    const pci = nic.address as Extract<DeviceAddress, { type: "pci" }>;
    device.bus = pciBusAlias(pci);
    device.addr = `0x${pci.slot.toString(16)}${pci.function ? `.0x${pci.function.toString(16)}` : ""}`;
  } else if (nic.address) throw new Error(`interface ${nic.mac}: ${formatAddress(nic.address)} is not a PCI address`);
  if (nic.bootOrder !== null) device.bootindex = nic.bootOrder;
  if (nic.romFile) device.romfile = nic.romFile;
  return ["-netdev", `{"type":"user","id":"hostnet${nic.index}"}`, "-device", JSON.stringify(device)];
}

function replaceOptionField(value: string, field: string, replacement: string): string {
  return value
    .split(",")
    .map((part) => (part.startsWith(`${field}=`) ? `${field}=${replacement}` : part))
    .join(",");
}

export function supervisedCommand(
  native: { argv: string[]; env: Record<string, string> },
  interfaces: DomainInterface[],
  machineType: "pc" | "q35",
  paths: SupervisedPaths,
): SupervisedCommand {
  const [binary, ...rest] = native.argv;
  if (!binary) throw new Error("libvirt produced an empty command line");
  const argv: string[] = [];
  const changes: string[] = [];
  let nvramTemplate: string | undefined;
  for (let i = 0; i < rest.length; i++) {
    const option = rest[i]!;
    const value = rest[i + 1];
    switch (option) {
      case "-S":
        changes.push("-S dropped: libvirt starts QEMU paused and resumes it over QMP; bootproof starts it running");
        continue;
      case "-no-shutdown":
        changes.push("-no-shutdown dropped: a guest power-off must end QEMU (libvirt watches QMP events instead)");
        continue;
      case "-object":
        if (value?.includes('"id":"masterKey0"')) {
          const parsed = JSON.parse(value) as Record<string, unknown>;
          argv.push(option, JSON.stringify({ ...parsed, file: paths.masterKeyFile }));
          changes.push("master key object → a per-boot key file");
          i++;
          continue;
        }
        break;
      case "-chardev":
        if (value?.includes("id=charmonitor")) {
          argv.push(option, replaceOptionField(value, "path", paths.qmpSocket));
          changes.push(`QMP monitor socket → ${paths.qmpSocket}`);
          i++;
          continue;
        }
        if (value?.startsWith("file,") && value.includes("id=charserial")) {
          argv.push(option, replaceOptionField(value, "path", paths.serialFile));
          i++;
          continue;
        }
        break;
      case "-vnc":
      case "-spice":
        // A VNC/SPICE server listens on a fixed port (5900 + display), so two guests would
        // collide; the guest's video device is unchanged.
        argv.push("-display", "none");
        changes.push(`${option} ${value} → -display none (no graphics server; the video device stays)`);
        i++;
        continue;
      case "-blockdev":
        if (value?.includes('"driver":"file"') && /nvram|_VARS/i.test(value) && paths.nvramFile) {
          const parsed = JSON.parse(value) as Record<string, unknown>;
          nvramTemplate = String(parsed.filename);
          argv.push(option, JSON.stringify({ ...parsed, filename: paths.nvramFile }));
          changes.push(`UEFI variable store ${nvramTemplate} → per-boot copy ${paths.nvramFile}`);
          i++;
          continue;
        }
        break;
    }
    argv.push(option);
  }
  if (!argv.includes("-no-reboot")) {
    // libvirt enforces <on_reboot>destroy</on_reboot> itself, watching QMP reset events; a
    // supervised QEMU must exit on a guest reset (panic=-1, SeaBIOS's retry) by itself.
    argv.push("-no-reboot");
    changes.push("-no-reboot added: libvirt enforces on_reboot=destroy over QMP, bootproof through QEMU");
  }
  if (interfaces.length > 0) {
    // Before -sandbox/-msg is not required: QEMU takes devices in any order; appended last.
    for (const nic of interfaces) argv.push(...userNetArgs(nic, machineType));
    changes.push(
      `interfaces added as libvirt writes user-mode networking, at libvirt's addresses: ${interfaces
        .map((n) => `${n.mac} ${formatAddress(n.address)}`)
        .join(", ")}`,
    );
  }
  return { command: { binary, argv }, changes, nvramTemplate };
}
