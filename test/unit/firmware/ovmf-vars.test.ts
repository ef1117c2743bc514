import { existsSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { isFirmwareDefault, parseVariableStore, seedVariableStore } from "../../../firmware/ovmf-vars.js";

const FV_HEADER_LENGTH = 0x48;
const STORE_SIZE = 0x2000;
const AUTHENTICATED_STORE_GUID = "aaf32c78-947b-439a-a180-2e144ec37792";

function guidBytes(guid: string): Buffer {
  const [a, b, c, d, e] = guid.split("-") as [string, string, string, string, string];
  const le = (hex: string) => Buffer.from(hex, "hex").reverse();
  return Buffer.concat([le(a), le(b), le(c), Buffer.from(d + e, "hex")]);
}

/** An erased VARS image: firmware volume header, empty authenticated variable store. */
function emptyImage(): Buffer {
  const image = Buffer.alloc(FV_HEADER_LENGTH + STORE_SIZE + 0x1000, 0xff);
  image.fill(0, 0, FV_HEADER_LENGTH);
  image.write("_FVH", 0x28, "latin1");
  image.writeUInt16LE(FV_HEADER_LENGTH, 0x30);
  guidBytes(AUTHENTICATED_STORE_GUID).copy(image, FV_HEADER_LENGTH);
  image.writeUInt32LE(STORE_SIZE, FV_HEADER_LENGTH + 16);
  image[FV_HEADER_LENGTH + 20] = 0x5a;
  image[FV_HEADER_LENGTH + 21] = 0xfe;
  image.fill(0, FV_HEADER_LENGTH + 22, FV_HEADER_LENGTH + 28);
  return image;
}

interface Variable {
  name: string;
  guid: string;
  data: Buffer;
  state?: number;
}

/** Writes variables one after another as the firmware does (4-byte aligned records). */
function withVariables(image: Buffer, variables: Variable[]): Buffer {
  const out = Buffer.from(image);
  let offset = parseVariableStore(out)!.freeOffset;
  for (const v of variables) {
    const name = Buffer.from(`${v.name}\0`, "utf16le");
    const header = Buffer.alloc(60, 0);
    header.writeUInt16LE(0x55aa, 0);
    header[2] = v.state ?? 0x3f;
    header.writeUInt32LE(7, 4);
    header.writeUInt32LE(name.length, 36);
    header.writeUInt32LE(v.data.length, 40);
    guidBytes(v.guid).copy(header, 44);
    const record = Buffer.concat([header, name, v.data]);
    record.copy(out, offset);
    offset = (offset + record.length + 3) & ~3;
  }
  return out;
}

const ISCSI_ATTEMPT = "59324945-ec44-4c0d-b1cd-9db139df070c";
const ISCSI_ORDER = "4b47d616-a8d6-4552-9d44-ccad2e0f4cf9";
const GLOBAL = "8be4df61-93ca-11d2-aa0d-00e098032b8c";
const CERTDB = "d9bee56e-75dc-49d9-b4d7-b534210f637a";

describe("parseVariableStore", () => {
  it("reads names, vendor GUIDs and states, and where the free space starts", () => {
    const image = withVariables(emptyImage(), [
      { name: "Attempt 1", guid: ISCSI_ATTEMPT, data: Buffer.alloc(5, 1) },
      { name: "BootOrder", guid: GLOBAL, data: Buffer.from([0, 0]), state: 0x3c },
    ]);
    const store = parseVariableStore(image)!;
    expect(store.start).toBe(0x64);
    expect(store.variables.map((v) => [v.name, v.vendorGuid, v.state])).toEqual([
      ["Attempt 1", ISCSI_ATTEMPT, 0x3f],
      ["BootOrder", GLOBAL, 0x3c],
    ]);
    const [first, second] = store.variables as [(typeof store.variables)[0], (typeof store.variables)[0]];
    expect(store.freeOffset).toBe(0x64 + ((first.record.length + 3) & ~3) + ((second.record.length + 3) & ~3));
  });

  it("leaves images that are not an authenticated variable store alone", () => {
    const notFv = Buffer.alloc(0x4000, 0xff);
    expect(parseVariableStore(notFv)).toBeUndefined();
    const otherStore = emptyImage();
    otherStore.fill(0x11, FV_HEADER_LENGTH, FV_HEADER_LENGTH + 16);
    expect(parseVariableStore(otherStore)).toBeUndefined();
  });
});

describe("seedVariableStore", () => {
  const template = emptyImage();
  const booted = withVariables(template, [
    { name: "certdb", guid: CERTDB, data: Buffer.alloc(4, 0) },
    { name: "InitialAttemptOrder", guid: ISCSI_ORDER, data: Buffer.from([1]), state: 0x3c },
    { name: "Attempt 1", guid: ISCSI_ATTEMPT, data: Buffer.alloc(9, 2) },
    { name: "InitialAttemptOrder", guid: ISCSI_ORDER, data: Buffer.from([1, 2]) },
    { name: "BootOrder", guid: GLOBAL, data: Buffer.from([1, 0]) },
    { name: "Boot0001", guid: GLOBAL, data: Buffer.alloc(30, 3) },
    { name: "MTC", guid: "eb704011-1402-11d3-8e77-00a0c969723b", data: Buffer.from([1, 0, 0, 0]) },
  ]);

  it("appends only the live machine-independent defaults, as the firmware wrote them", () => {
    const seeded = seedVariableStore(template, booted)!;
    const live = parseVariableStore(seeded)!.variables;
    expect(live.map((v) => v.name)).toEqual(["certdb", "Attempt 1", "InitialAttemptOrder"]);
    expect(live.every((v) => v.state === 0x3f)).toBe(true);
    const bootedOrder = parseVariableStore(booted)!.variables.find((v) => v.name === "InitialAttemptOrder" && v.state === 0x3f)!;
    expect(live[2]!.record.equals(bootedOrder.record)).toBe(true);
    // Outside the store nothing changes.
    const storeEnd = FV_HEADER_LENGTH + STORE_SIZE;
    expect(seeded.subarray(storeEnd).equals(template.subarray(storeEnd))).toBe(true);
    expect(seeded.subarray(0, 0x64).equals(template.subarray(0, 0x64))).toBe(true);
  });

  it("keeps the template's own variables and does not seed one it already has", () => {
    const enrolled = withVariables(template, [{ name: "certdb", guid: CERTDB, data: Buffer.alloc(4, 9) }]);
    const bootedFromEnrolled = withVariables(enrolled, [{ name: "Attempt 1", guid: ISCSI_ATTEMPT, data: Buffer.alloc(9, 2) }]);
    const seeded = seedVariableStore(enrolled, bootedFromEnrolled)!;
    const names = parseVariableStore(seeded)!.variables.map((v) => [v.name, v.record.subarray(-4).toString("hex")]);
    expect(names).toEqual([
      ["certdb", "09090909"],
      ["Attempt 1", "02020202"],
    ]);
  });

  it("returns undefined when there is nothing to seed or the images do not match", () => {
    expect(seedVariableStore(template, template)).toBeUndefined();
    expect(seedVariableStore(template, Buffer.alloc(template.length, 0xff))).toBeUndefined();
    expect(seedVariableStore(template, booted.subarray(0, booted.length - 16))).toBeUndefined();
  });

  it("classifies by vendor GUID and name together", () => {
    const v = (name: string, vendorGuid: string) => ({ name, vendorGuid, state: 0x3f, record: Buffer.alloc(0) });
    expect(isFirmwareDefault(v("Attempt 12", ISCSI_ATTEMPT))).toBe(true);
    expect(isFirmwareDefault(v("Attempt 1", GLOBAL))).toBe(false);
    expect(isFirmwareDefault(v("Boot0000", GLOBAL))).toBe(false);
    expect(isFirmwareDefault(v("AttemptX", ISCSI_ATTEMPT))).toBe(false);
  });
});

const DEBIAN_TEMPLATE = "/usr/share/OVMF/OVMF_VARS_4M.fd";
describe.skipIf(!existsSync(DEBIAN_TEMPLATE))("Debian's OVMF VARS template", () => {
  it("parses as an empty authenticated store", () => {
    const store = parseVariableStore(readFileSync(DEBIAN_TEMPLATE))!;
    expect(store).toBeDefined();
    expect(store.variables).toEqual([]);
  });
});
