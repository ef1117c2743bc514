// The spec's scenario 5, as bootproof models it (Ironic 21.4.4 has no nfs_root path in its
// iPXE template: ironic/drivers/modules/ipxe_config.template boots volumes only). Pure:
// a node → the conductor's refusal, or the iPXE script that loads the conductor's kernel and
// ramdisk with the nfsroot command line, and where the export must be served.
import type { IronicNfsCase } from "./case.js";

export interface ParsedNfsRoot {
  server: string;
  path: string;
  options: string;
}

export type NfsBootDecision =
  | { outcome: "boot"; nfsRoot: ParsedNfsRoot; script: (conductor: string) => string; kernelPath: string; ramdiskPath: string }
  | { outcome: "refused"; field: "capabilities.nfs_boot" | "instance_info.nfs_root"; message: string };

const IPV4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;
const HOSTNAME = /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
const OPTION = /^[a-z][a-z0-9_]*(=[A-Za-z0-9._:/-]+)?$/;
const FORM = "SERVER:/ABSOLUTE/PATH[,OPTION[=VALUE]...] (e.g. 10.0.2.100:/export,vers=3,proto=tcp)";

/** nfs_root in the kernel's nfsroot= syntax, or why it is not. */
export function parseNfsRoot(value: string): ParsedNfsRoot | string {
  if (/[\s\0-\x1f]/.test(value))
    return `nfs_root ${JSON.stringify(value)} contains whitespace or control characters; expected ${FORM}`;
  const comma = value.indexOf(",");
  const source = comma < 0 ? value : value.slice(0, comma);
  const options = comma < 0 ? "" : value.slice(comma + 1);
  const colon = source.indexOf(":");
  if (colon <= 0) return `nfs_root ${JSON.stringify(value)} names no server before ':'; expected ${FORM}`;
  const server = source.slice(0, colon);
  const path = source.slice(colon + 1);
  if (!IPV4.test(server) && !HOSTNAME.test(server))
    return `nfs_root ${JSON.stringify(value)}: server ${JSON.stringify(server)} is neither an IPv4 address nor a host name; expected ${FORM}`;
  if (!path.startsWith("/"))
    return `nfs_root ${JSON.stringify(value)}: the export path ${JSON.stringify(path)} is not absolute; expected ${FORM}`;
  if (path.split("/").includes(".."))
    return `nfs_root ${JSON.stringify(value)}: the export path climbs with '..'; expected ${FORM}`;
  for (const option of options === "" ? [] : options.split(","))
    if (!OPTION.test(option))
      return `nfs_root ${JSON.stringify(value)}: option ${JSON.stringify(option)} is not OPTION[=VALUE]; expected ${FORM}`;
  return { server, path: path.replace(/\/+$/, "") || "/", options };
}

const truthy = (v: string | undefined) => v !== undefined && ["true", "1", "yes", "on", "y", "t"].includes(v.toLowerCase());

export function decideNfsBoot(input: IronicNfsCase): NfsBootDecision {
  const { node } = input;
  const nfsBoot = node.capabilities.nfs_boot;
  const nfsRoot = node.instanceInfo.nfs_root;
  if (nfsRoot === undefined)
    return {
      outcome: "refused",
      field: "instance_info.nfs_root",
      message: truthy(nfsBoot)
        ? `node ${node.uuid}: capabilities nfs_boot is true but instance_info has no nfs_root; set nfs_root to ${FORM}`
        : `node ${node.uuid}: no NFS boot asked for (no nfs_root in instance_info); set nfs_boot:true and nfs_root to ${FORM}`,
    };
  if (!truthy(nfsBoot))
    return {
      outcome: "refused",
      field: "capabilities.nfs_boot",
      message: `node ${node.uuid}: instance_info nfs_root is set but capabilities nfs_boot is ${nfsBoot === undefined ? "missing" : JSON.stringify(nfsBoot)}; set nfs_boot:true`,
    };
  const parsed = parseNfsRoot(nfsRoot);
  if (typeof parsed === "string")
    return { outcome: "refused", field: "instance_info.nfs_root", message: `node ${node.uuid}: ${parsed}` };
  const kernelPath = `${node.uuid}/kernel`;
  const ramdiskPath = `${node.uuid}/ramdisk`;
  const args = [
    // The EFI stub finds iPXE's initrd by name (iPXE's documented rule; Ironic's templates
    // pass initrd=ramdisk too); the BIOS path ignores it.
    "initrd=ramdisk",
    "root=/dev/nfs",
    `nfsroot=${nfsRoot}`,
    "ip=dhcp",
    "console=ttyS0,115200",
    // bootproof's probe: its role marker, and what it writes into the export.
    "bootproof.role=nfs-root",
    `bootproof.nfs_write=${node.uuid}`,
  ].join(" ");
  return {
    outcome: "boot",
    nfsRoot: parsed,
    kernelPath,
    ramdiskPath,
    script: (conductor) =>
      [
        "#!ipxe",
        `kernel http://${conductor}/${kernelPath} ${args}`,
        `initrd http://${conductor}/${ramdiskPath}`,
        "boot",
        "",
      ].join("\n"),
  };
}
