// iSCSI root paths as iPXE reads them (RFC 4173): iscsi:<server>:<protocol>:<port>:<LUN>:<iqn>.
//
// The LUN field is NOT decimal. iPXE's scsi_parse_lun() reads up to four '-'-separated
// groups with strtoul(..., 16) and stores each as one big-endian 16-bit level of the 8-byte
// SAM LUN. So LUN 10 must be written "a" ("10" would address LUN 16), and the first level
// carries the SAM address method: LUN 0..255 is peripheral addressing (0x00nn, written
// "nn" in hex), LUN 256..16383 is flat space addressing (0x4000 | LUN). Ironic once wrote
// the LUN in decimal, which booted the wrong LUN for any LUN >= 10.
//
// Pure functions only; parseIscsiRootPath is the inverse used to check the renderer.

export const ISCSI_DEFAULT_PORT = 3260;
/** Largest LUN expressible in one SAM level (flat space addressing: 14 bits). */
export const MAX_SINGLE_LEVEL_LUN = 16383;

export interface IscsiRootPath {
  server: string;
  port: number;
  lun: number;
  targetIqn: string;
}

export class IscsiRootPathError extends Error {
  constructor(
    readonly rootPath: string,
    reason: string,
  ) {
    super(`iSCSI root path '${rootPath}' is invalid: ${reason}`);
    this.name = "IscsiRootPathError";
  }
}

/** The first SAM LUN level for a single-level LUN (peripheral below 256, flat above). */
export function samFirstLevel(lun: number): number {
  if (!Number.isInteger(lun) || lun < 0 || lun > MAX_SINGLE_LEVEL_LUN) {
    throw new RangeError(`LUN ${lun} is out of range: use an integer 0..${MAX_SINGLE_LEVEL_LUN}`);
  }
  return lun < 256 ? lun : 0x4000 | lun;
}

/** The LUN field as iPXE parses it: hex digits of the first SAM level. */
export function ipxeLunField(lun: number): string {
  return samFirstLevel(lun).toString(16);
}

export function formatIscsiRootPath(path: IscsiRootPath): string {
  return `iscsi:${path.server}::${path.port}:${ipxeLunField(path.lun)}:${path.targetIqn}`;
}

/** Decodes an iPXE LUN field (hex levels joined by '-') back to a single-level LUN number. */
export function parseIpxeLunField(field: string, rootPath = field): number {
  if (field === "") return 0; // RFC 4173: empty LUN means LUN 0
  const groups = field.split("-");
  if (groups.length > 4) throw new IscsiRootPathError(rootPath, `LUN '${field}' has more than 4 levels`);
  const levels = groups.map((group) => {
    if (!/^[0-9a-fA-F]{1,4}$/.test(group)) {
      throw new IscsiRootPathError(rootPath, `LUN level '${group}' is not 1-4 hex digits (iPXE reads the LUN in hex)`);
    }
    return Number.parseInt(group, 16);
  });
  if (levels.slice(1).some((level) => level !== 0)) {
    throw new IscsiRootPathError(rootPath, `LUN '${field}' is hierarchical; only single-level LUNs are supported`);
  }
  const first = levels[0]!;
  const method = first >> 14;
  const high = (first >> 8) & 0x3f;
  const low = first & 0xff;
  if (method === 0) {
    if (high !== 0) {
      throw new IscsiRootPathError(
        rootPath,
        `LUN '${field}' is SAM 0x${first.toString(16).padStart(4, "0")}: peripheral addressing on bus ${high}; ` +
          `LUNs 256..16383 need flat addressing (LUN 256 is '4100'), and a decimal LUN is a bug`,
      );
    }
    return low;
  }
  if (method === 1) return first & 0x3fff;
  throw new IscsiRootPathError(rootPath, `LUN '${field}' uses SAM address method ${method}, which is not supported`);
}

/** Parses an RFC 4173 root path the way iPXE does: five ':' fields, the IQN is the rest. */
export function parseIscsiRootPath(rootPath: string): IscsiRootPath {
  if (!rootPath.startsWith("iscsi:")) throw new IscsiRootPathError(rootPath, "it must start with 'iscsi:'");
  const fields: string[] = [];
  let rest = rootPath.slice("iscsi:".length);
  for (let i = 0; i < 4; i++) {
    const colon = rest.indexOf(":");
    if (colon === -1) throw new IscsiRootPathError(rootPath, "it needs 5 fields: server:protocol:port:LUN:iqn");
    fields.push(rest.slice(0, colon));
    rest = rest.slice(colon + 1);
  }
  const [server, protocol, portField, lunField] = fields as [string, string, string, string];
  if (server === "") throw new IscsiRootPathError(rootPath, "the server field is empty");
  if (protocol !== "" && protocol !== "6") {
    throw new IscsiRootPathError(rootPath, `protocol '${protocol}' is not TCP (leave it empty or write 6)`);
  }
  let port = ISCSI_DEFAULT_PORT;
  if (portField !== "") {
    if (!/^[0-9]{1,5}$/.test(portField) || Number(portField) < 1 || Number(portField) > 65535) {
      throw new IscsiRootPathError(rootPath, `port '${portField}' is not 1..65535`);
    }
    port = Number(portField);
  }
  const lun = parseIpxeLunField(lunField, rootPath);
  if (rest === "") throw new IscsiRootPathError(rootPath, "the target IQN is empty");
  return { server, port, lun, targetIqn: rest };
}
