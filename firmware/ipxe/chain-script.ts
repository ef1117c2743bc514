// The small script a DHCP bootfile points iPXE at: configure the NIC, then chain the real
// script (for bootproof usually tftp://10.0.2.2:PORT/boot.ipxe from the built-in TFTP
// server, reached through QEMU user-mode networking).

export interface ChainScriptInput {
  /** URL to chain, e.g. tftp://10.0.2.2:6969/boot.ipxe. */
  url: string;
  /** Run `dhcp` first (default true). */
  dhcp?: boolean;
}

const CHAINABLE = /^(tftp|http|https):\/\/[A-Za-z0-9.-]+(:[0-9]{1,5})?\/[A-Za-z0-9._~/%+=-]*$/;

/** A tftp:// URL for a file served by the built-in TFTP server. */
export function tftpUrl(host: string, port: number, path: string): string {
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new RangeError(`TFTP port ${port} is not 1..65535`);
  const clean = path.replace(/^\/+/, "");
  if (clean.split("/").includes("..")) throw new RangeError(`TFTP path '${path}' contains '..': name a file under the root`);
  return `tftp://${host}:${port}/${clean}`;
}

export function renderChainScript(input: ChainScriptInput): string {
  if (!CHAINABLE.test(input.url)) {
    throw new RangeError(
      `chain URL '${input.url}' is not a plain tftp://, http:// or https:// URL an iPXE script can carry ` +
        "(no spaces, '$', quotes or query strings)",
    );
  }
  const lines = ["#!ipxe"];
  if (input.dhcp ?? true) lines.push("dhcp");
  lines.push(`chain ${input.url}`);
  return `${lines.join("\n")}\n`;
}
