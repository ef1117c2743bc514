// Just enough ELF64 (little-endian, x86-64) reading for two questions: what a kernel
// module's .modinfo section says (its dependencies), and whether an executable is static
// (the probe's busybox must not need a dynamic loader the initramfs lacks).

const ELF_MAGIC = 0x7f454c46; // "\x7fELF"
const ELFCLASS64 = 2;
const ELFDATA2LSB = 1;
const PT_INTERP = 3;

interface Elf64Header {
  programHeaderOffset: number;
  programHeaderSize: number;
  programHeaderCount: number;
  sectionHeaderOffset: number;
  sectionHeaderSize: number;
  sectionHeaderCount: number;
  sectionNameIndex: number;
}

function readHeader(bytes: Buffer, source: string): Elf64Header {
  if (bytes.length < 64 || bytes.readUInt32BE(0) !== ELF_MAGIC) throw new Error(`${source} is not an ELF file`);
  if (bytes[4] !== ELFCLASS64 || bytes[5] !== ELFDATA2LSB) throw new Error(`${source} is not a 64-bit little-endian ELF file`);
  return {
    programHeaderOffset: Number(bytes.readBigUInt64LE(0x20)),
    sectionHeaderOffset: Number(bytes.readBigUInt64LE(0x28)),
    programHeaderSize: bytes.readUInt16LE(0x36),
    programHeaderCount: bytes.readUInt16LE(0x38),
    sectionHeaderSize: bytes.readUInt16LE(0x3a),
    sectionHeaderCount: bytes.readUInt16LE(0x3c),
    sectionNameIndex: bytes.readUInt16LE(0x3e),
  };
}

function slice(bytes: Buffer, offset: number, size: number, source: string, what: string): Buffer {
  if (offset < 0 || size < 0 || offset + size > bytes.length)
    throw new Error(`${source}: ${what} lies outside the file (truncated ELF?)`);
  return bytes.subarray(offset, offset + size);
}

/** The bytes of the named section, or undefined when the file has no such section. */
export function elfSection(bytes: Buffer, name: string, source = "ELF file"): Buffer | undefined {
  const header = readHeader(bytes, source);
  const sectionAt = (index: number) => {
    const base = header.sectionHeaderOffset + index * header.sectionHeaderSize;
    slice(bytes, base, 64, source, `section header ${index}`);
    return {
      nameOffset: bytes.readUInt32LE(base),
      offset: Number(bytes.readBigUInt64LE(base + 0x18)),
      size: Number(bytes.readBigUInt64LE(base + 0x20)),
    };
  };
  if (header.sectionNameIndex >= header.sectionHeaderCount) throw new Error(`${source}: bad section name table index`);
  const names = sectionAt(header.sectionNameIndex);
  const nameTable = slice(bytes, names.offset, names.size, source, "section name table");
  for (let index = 0; index < header.sectionHeaderCount; index++) {
    const section = sectionAt(index);
    const end = nameTable.indexOf(0, section.nameOffset);
    if (nameTable.toString("latin1", section.nameOffset, end < 0 ? undefined : end) === name) {
      return slice(bytes, section.offset, section.size, source, `section ${name}`);
    }
  }
  return undefined;
}

/** True when the executable has no PT_INTERP program header (needs no dynamic loader). */
export function isStaticExecutable(bytes: Buffer, source = "ELF file"): boolean {
  const header = readHeader(bytes, source);
  for (let index = 0; index < header.programHeaderCount; index++) {
    const base = header.programHeaderOffset + index * header.programHeaderSize;
    if (slice(bytes, base, 4, source, `program header ${index}`).readUInt32LE(0) === PT_INTERP) return false;
  }
  return true;
}

/**
 * A kernel module's .modinfo: NUL-separated "key=value" strings. Keys may repeat
 * (alias=, parm=), so every key maps to all its values in file order.
 */
export function parseModinfo(section: Buffer): Map<string, string[]> {
  const info = new Map<string, string[]>();
  for (const entry of section.toString("utf8").split("\0")) {
    const equals = entry.indexOf("=");
    if (equals <= 0) continue;
    const key = entry.slice(0, equals);
    info.set(key, [...(info.get(key) ?? []), entry.slice(equals + 1)]);
  }
  return info;
}

export function moduleInfo(bytes: Buffer, source: string): Map<string, string[]> {
  const section = elfSection(bytes, ".modinfo", source);
  if (!section) throw new Error(`${source} has no .modinfo section: is it a kernel module?`);
  return parseModinfo(section);
}
