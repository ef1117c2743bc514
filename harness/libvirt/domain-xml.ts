// libvirt domain XML as data: what a domain holds (every device and the address libvirt gave
// it) and the few rewrites that point a domain at bootproof's world. Pure: string in, value
// or string out; the embedded driver lives in embedded.ts.
import { DOMParser, XMLSerializer, type Element as XmlElement } from "@xmldom/xmldom";
import { InputError } from "../errors.js";

export type DeviceAddress =
  | { type: "pci"; domain: number; bus: number; slot: number; function: number }
  | { type: "drive"; controller: number; bus: number; target: number; unit: number }
  | { type: "usb"; bus: number; port: string }
  | { type: string; raw: Record<string, string> };

export interface DomainDisk {
  /** Position among the domain's <disk> elements (XML order). */
  index: number;
  device: string;
  bus: string;
  targetDev: string;
  serial: string | null;
  wwn: string | null;
  sourceFile: string | null;
  driverType: string | null;
  address: DeviceAddress | null;
  bootOrder: number | null;
  readOnly: boolean;
}

export interface DomainInterface {
  index: number;
  type: string;
  mac: string | null;
  model: string | null;
  address: DeviceAddress | null;
  bootOrder: number | null;
  romFile: string | null;
}

/** Any element of <devices>: what the guest gets, by kind and address. */
export interface DomainDevice {
  /** e.g. "disk vda", "controller usb 0 (piix3-uhci)", "memballoon virtio", "input tablet usb". */
  label: string;
  element: string;
  address: DeviceAddress | null;
}

export interface DomainController {
  type: string;
  index: number;
  model: string | null;
  address: DeviceAddress | null;
}

export interface DomainSummary {
  name: string;
  type: string;
  machine: string | null;
  /** "efi" when the domain boots UEFI firmware (firmware='efi' or an OVMF loader). */
  firmware: "bios" | "efi";
  /** <os><boot dev=…> in order (legacy boot order; per-device <boot order> is on the devices). */
  osBootDevices: string[];
  disks: DomainDisk[];
  interfaces: DomainInterface[];
  controllers: DomainController[];
  devices: DomainDevice[];
}

const int = (value: string | null | undefined): number => {
  if (value === null || value === undefined || value === "") return 0;
  return value.startsWith("0x") ? Number.parseInt(value.slice(2), 16) : Number.parseInt(value, 10);
};

export function parseDomainXml(xml: string, what = "domain XML"): XmlElement {
  const problems: string[] = [];
  let doc: ReturnType<DOMParser["parseFromString"]>;
  try {
    doc = new DOMParser({
      onError: (level, message) => {
        if (level !== "warning") problems.push(message);
      },
    }).parseFromString(xml, "text/xml");
  } catch (error) {
    // xmldom throws its fatal errors (no root, mismatched tags) instead of reporting them.
    throw new InputError(`${what} is not a libvirt <domain> document: ${error instanceof Error ? error.message : String(error)}`);
  }
  const root = doc.documentElement;
  if (problems.length > 0 || !root || root.tagName !== "domain")
    throw new InputError(`${what} is not a libvirt <domain> document: ${problems[0] ?? `root element is <${root?.tagName}>`}`);
  return root;
}

function children(element: XmlElement, tag?: string): XmlElement[] {
  const out: XmlElement[] = [];
  for (let node = element.firstChild; node; node = node.nextSibling)
    if (node.nodeType === 1 && (tag === undefined || (node as XmlElement).tagName === tag)) out.push(node as XmlElement);
  return out;
}

function child(element: XmlElement, tag: string): XmlElement | undefined {
  return children(element, tag)[0];
}

function attr(element: XmlElement | undefined, name: string): string | null {
  if (!element?.hasAttribute(name)) return null;
  return element.getAttribute(name);
}

function text(element: XmlElement | undefined): string | null {
  const value = element?.textContent?.trim();
  return value ? value : null;
}

export function addressOf(element: XmlElement): DeviceAddress | null {
  const address = child(element, "address");
  if (!address) return null;
  const type = attr(address, "type") ?? "";
  if (type === "pci")
    return {
      type,
      domain: int(attr(address, "domain")),
      bus: int(attr(address, "bus")),
      slot: int(attr(address, "slot")),
      function: int(attr(address, "function")),
    };
  if (type === "drive")
    return {
      type,
      controller: int(attr(address, "controller")),
      bus: int(attr(address, "bus")),
      target: int(attr(address, "target")),
      unit: int(attr(address, "unit")),
    };
  if (type === "usb") return { type, bus: int(attr(address, "bus")), port: attr(address, "port") ?? "" };
  const raw: Record<string, string> = {};
  for (let i = 0; i < address.attributes.length; i++) {
    const a = address.attributes.item(i);
    if (a) raw[a.name] = a.value;
  }
  return { type, raw };
}

/** "00:05.0", or "0001:00:05.0" outside domain 0; the same form the guest probe reports. */
export function formatPciAddress(address: { domain: number; bus: number; slot: number; function: number }): string {
  const hex = (n: number, width: number) => n.toString(16).padStart(width, "0");
  const bdf = `${hex(address.bus, 2)}:${hex(address.slot, 2)}.${address.function}`;
  return address.domain === 0 ? bdf : `${hex(address.domain, 4)}:${bdf}`;
}

export function formatAddress(address: DeviceAddress | null): string {
  if (!address) return "no address";
  switch (address.type) {
    case "pci":
      return `PCI ${formatPciAddress(address as Extract<DeviceAddress, { type: "pci" }>)}`;
    case "drive": {
      const a = address as Extract<DeviceAddress, { type: "drive" }>;
      return `drive ${a.controller}:${a.bus}:${a.target}:${a.unit}`;
    }
    case "usb": {
      const a = address as Extract<DeviceAddress, { type: "usb" }>;
      return `USB ${a.bus}-${a.port}`;
    }
    default:
      return `${address.type} ${JSON.stringify((address as { raw: Record<string, string> }).raw)}`;
  }
}

function deviceLabel(element: XmlElement): string {
  const tag = element.tagName;
  switch (tag) {
    case "disk":
      return `disk ${attr(child(element, "target"), "dev") ?? "?"} (${attr(element, "device") ?? "disk"} on ${attr(child(element, "target"), "bus") ?? "?"})`;
    case "controller":
      return `controller ${attr(element, "type")} ${attr(element, "index") ?? "0"}${attr(element, "model") ? ` (${attr(element, "model")})` : ""}`;
    case "interface":
      return `interface ${attr(child(element, "mac"), "address") ?? "?"} (${attr(child(element, "model"), "type") ?? "default"})`;
    case "input":
      return `input ${attr(element, "type")} ${attr(element, "bus") ?? ""}`.trim();
    case "video":
      return `video ${attr(child(element, "model"), "type") ?? "?"}`;
    case "memballoon":
    case "rng":
    case "watchdog":
    case "sound":
      return `${tag} ${attr(element, "model") ?? "?"}`;
    case "serial":
    case "console":
    case "channel":
      return `${tag} ${attr(child(element, "target"), "type") ?? attr(element, "type") ?? ""} ${attr(child(element, "target"), "port") ?? ""}`.trim();
    default:
      return tag;
  }
}

export function summarizeDomain(xml: string): DomainSummary {
  return summarizeRoot(parseDomainXml(xml));
}

function summarizeRoot(root: XmlElement): DomainSummary {
  const os = child(root, "os");
  const devicesElement = child(root, "devices");
  const deviceElements = devicesElement ? children(devicesElement) : [];
  const loader = os ? child(os, "loader") : undefined;
  const efi = attr(os, "firmware") === "efi" || /OVMF|edk2|efi/i.test(text(loader) ?? "");
  const bootOrderOf = (element: XmlElement) => {
    const boot = child(element, "boot");
    return boot ? int(attr(boot, "order")) : null;
  };
  const disks = deviceElements
    .filter((e) => e.tagName === "disk")
    .map((e, index): DomainDisk => {
      const target = child(e, "target");
      const source = child(e, "source");
      return {
        index,
        device: attr(e, "device") ?? "disk",
        bus: attr(target, "bus") ?? "",
        targetDev: attr(target, "dev") ?? "",
        serial: text(child(e, "serial")),
        wwn: text(child(e, "wwn")),
        sourceFile: attr(source, "file") ?? attr(source, "dev"),
        driverType: attr(child(e, "driver"), "type"),
        address: addressOf(e),
        bootOrder: bootOrderOf(e),
        readOnly: child(e, "readonly") !== undefined,
      };
    });
  const interfaces = deviceElements
    .filter((e) => e.tagName === "interface")
    .map(
      (e, index): DomainInterface => ({
        index,
        type: attr(e, "type") ?? "",
        mac: attr(child(e, "mac"), "address"),
        model: attr(child(e, "model"), "type"),
        address: addressOf(e),
        bootOrder: bootOrderOf(e),
        romFile: attr(child(e, "rom"), "file"),
      }),
    );
  const controllers = deviceElements
    .filter((e) => e.tagName === "controller")
    .map((e) => ({ type: attr(e, "type") ?? "", index: int(attr(e, "index")), model: attr(e, "model"), address: addressOf(e) }));
  return {
    name: text(child(root, "name")) ?? "",
    type: attr(root, "type") ?? "",
    machine: attr(os ? child(os, "type") : undefined, "machine"),
    firmware: efi ? "efi" : "bios",
    osBootDevices: os ? children(os, "boot").map((b) => attr(b, "dev") ?? "") : [],
    disks,
    interfaces,
    controllers,
    devices: deviceElements.map((e) => ({ label: deviceLabel(e), element: e.tagName, address: addressOf(e) })),
  };
}

/** How long SeaBIOS waits before retrying when nothing boots (QEMU's -boot reboot-timeout). */
export const BIOS_REBOOT_TIMEOUT_MS = 1000;

/** Where one of the domain's disks reads and writes inside bootproof's world. */
export interface DiskPlacement {
  /** The file QEMU opens: a per-boot qcow2 overlay, or the base itself when read-only. */
  file: string;
  format: "qcow2" | "raw";
  /** The overlay's read-only base (never written). */
  backing?: { file: string; format: "raw" | "qcow2" };
}

export interface WorldPlan {
  /** The placement of each <disk>; throw (or return undefined) for a disk bootproof has no medium for. */
  placeDisk(disk: DomainDisk): DiskPlacement | undefined;
  /** File the guest's serial port writes to. */
  serialFile: string;
}

export interface Rewrite {
  xml: string;
  /** What was changed, in words (recorded with the artifacts). */
  changes: string[];
}

function setChildAttributes(
  doc: Document | XmlElement["ownerDocument"],
  parent: XmlElement,
  tag: string,
  attributes: Record<string, string>,
): XmlElement {
  let element = child(parent, tag);
  if (!element) {
    element = doc!.createElement(tag) as unknown as XmlElement;
    parent.appendChild(element);
  }
  for (const [key, value] of Object.entries(attributes)) element.setAttribute(key, value);
  return element;
}

/**
 * Points a domain at bootproof's world and changes nothing the guest sees: disk sources →
 * bootproof's media (copy-on-write overlays over cached bases), interfaces → QEMU user-mode
 * networking (model, MAC, boot order and position kept), serial ports → one file bootproof
 * tails, domain type qemu (TCG), a guest reboot ends the domain (bootproof's -no-reboot).
 */
export function pointDomainAtBootproof(xml: string, plan: WorldPlan): Rewrite {
  const root = parseDomainXml(xml);
  const doc = root.ownerDocument!;
  const changes: string[] = [];
  if (attr(root, "type") !== "qemu") {
    changes.push(`domain type ${attr(root, "type")} → qemu (TCG: KVM is not usable here)`);
    root.setAttribute("type", "qemu");
  }
  for (const tag of ["on_reboot", "on_crash"]) {
    let element = child(root, tag);
    if (text(element) === "destroy") continue;
    if (!element) {
      element = doc.createElement(tag) as unknown as XmlElement;
      root.appendChild(element);
    }
    changes.push(`<${tag}> ${text(element) ?? "(unset)"} → destroy (a guest reboot or crash ends the boot)`);
    element.textContent = "destroy";
  }
  const summary = summarizeRoot(root);
  const os = child(root, "os");
  if (os && summary.firmware === "bios" && !child(os, "bios")) {
    // SeaBIOS waits forever at "No bootable device" unless told to retry; the retry is a
    // reboot, which ends the domain (on_reboot destroy): a fast, explained failure.
    const bios = doc.createElement("bios");
    bios.setAttribute("rebootTimeout", String(BIOS_REBOOT_TIMEOUT_MS));
    os.appendChild(bios);
    changes.push(
      `<os><bios rebootTimeout='${BIOS_REBOOT_TIMEOUT_MS}'/> (SeaBIOS gives up on no bootable device instead of waiting forever)`,
    );
  }
  const devices = child(root, "devices");
  if (!devices) throw new InputError("the domain XML has no <devices> element");
  const diskElements = children(devices, "disk");
  diskElements.forEach((element, index) => {
    const disk = summary.disks[index]!;
    const placement = plan.placeDisk(disk);
    if (!placement)
      throw new InputError(
        `disk ${disk.targetDev} (${disk.device} on ${disk.bus}, source ${disk.sourceFile ?? "none"}) has no medium in bootproof's world`,
      );
    element.setAttribute("type", "file");
    for (const old of [...children(element, "source"), ...children(element, "backingStore")]) element.removeChild(old);
    const source = doc.createElement("source");
    source.setAttribute("file", placement.file);
    const target = child(element, "target");
    element.insertBefore(source, target ?? null);
    if (placement.backing) {
      const backing = doc.createElement("backingStore");
      backing.setAttribute("type", "file");
      const format = doc.createElement("format");
      format.setAttribute("type", placement.backing.format);
      const backingSource = doc.createElement("source");
      backingSource.setAttribute("file", placement.backing.file);
      backing.appendChild(format);
      backing.appendChild(backingSource);
      backing.appendChild(doc.createElement("backingStore"));
      element.insertBefore(backing, target ?? null);
    }
    setChildAttributes(doc, element, "driver", { name: "qemu", type: placement.format });
    changes.push(
      `disk ${disk.targetDev}: source ${disk.sourceFile ?? "none"} → ${placement.file}${placement.backing ? ` (overlay over ${placement.backing.file})` : ""}`,
    );
  });
  for (const element of children(devices, "interface")) {
    const before = attr(element, "type");
    element.setAttribute("type", "user");
    // Host-side plumbing of the original type; the guest-visible parts (mac, model, boot,
    // rom, address) stay.
    for (const tag of ["source", "target", "virtualport", "bandwidth", "script", "driver", "mtu", "vlan", "filterref", "backend"])
      for (const old of children(element, tag)) element.removeChild(old);
    changes.push(`interface ${attr(child(element, "mac"), "address") ?? "?"}: type ${before} → user (QEMU user-mode networking)`);
  }
  for (const element of [...children(devices, "serial"), ...children(devices, "console")]) {
    const isConsole = element.tagName === "console";
    if (isConsole) {
      // libvirt derives the serial console from the first serial port itself.
      devices.removeChild(element);
      continue;
    }
    element.setAttribute("type", "file");
    for (const old of [...children(element, "source"), ...children(element, "log")]) element.removeChild(old);
    const source = doc.createElement("source");
    source.setAttribute("path", plan.serialFile);
    element.insertBefore(source, element.firstChild);
    changes.push(`serial ${attr(child(element, "target"), "port") ?? "0"} → file ${plan.serialFile}`);
  }
  return { xml: new XMLSerializer().serializeToString(doc), changes };
}

/**
 * The domain without its interfaces, for `domxml-to-native`: libvirt's converter turns every
 * interface into a host tap device, which needs privileges and would touch the host's
 * network. The interfaces keep the addresses libvirt assigned in `xml`; bootproof adds them
 * to the command line itself (argv.ts), the way libvirt writes a user-mode interface.
 */
export function withoutInterfaces(xml: string): string {
  const root = parseDomainXml(xml);
  const devices = child(root, "devices");
  if (devices) for (const element of children(devices, "interface")) devices.removeChild(element);
  return new XMLSerializer().serializeToString(root.ownerDocument!);
}
