import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { crc32c } from "../../../harness/iscsi/crc32c.js";
import { encodePdu, encodeTextKeys, newBhs, Op, PduFramer, parseTextKeys } from "../../../harness/iscsi/pdu.js";

describe("CRC32C", () => {
  it("matches the RFC 3720 / iSCSI test vectors", () => {
    expect(crc32c(Buffer.alloc(32))).toBe(0x8a9136aa);
    expect(crc32c(Buffer.alloc(32, 0xff))).toBe(0x62a8ab43);
    expect(crc32c(Buffer.from("123456789"))).toBe(0xe3069283);
    const inc = Buffer.from(Array.from({ length: 32 }, (_, i) => i));
    expect(crc32c(inc)).toBe(0x46dd794e);
  });
  it("slice-by-8 agrees with the bytewise definition on any input", () => {
    const slow = (b: Uint8Array): number => {
      let c = 0xffffffff;
      for (const x of b) {
        c ^= x;
        for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
      }
      return ~c >>> 0;
    };
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (b) => crc32c(b) === slow(b)));
  });
});

describe("PDU framing", () => {
  const pdu = (len: number): Buffer => {
    const bhs = newBhs(Op.ScsiCommand, 0x80);
    bhs.writeUInt32BE(0x1234, 16);
    return encodePdu(bhs, Buffer.alloc(len, 0xab));
  };

  it("pads data to 4 bytes and reassembles PDUs split at any byte", () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 70 }), { minLength: 1, maxLength: 5 }),
        fc.integer({ min: 1, max: 50 }),
        (lens, step) => {
          const wire = Buffer.concat(lens.map(pdu));
          const f = new PduFramer();
          const got: number[] = [];
          for (let i = 0; i < wire.length; i += step) {
            f.push(wire.subarray(i, i + step));
            for (let r = f.next(); r; r = f.next()) {
              if ("error" in r) throw new Error(r.error.kind);
              got.push(r.pdu.data.length);
              expect(r.pdu.bhs.readUInt32BE(16)).toBe(0x1234);
            }
          }
          expect(got).toEqual(lens);
          expect(f.bufferedBytes).toBe(0);
        },
      ),
    );
  });

  it("checks header and data digests when negotiated", () => {
    const bhs = newBhs(Op.NopOut, 0x80);
    const good = encodePdu(bhs, Buffer.from("hello"), true, true);
    expect(good.length).toBe(48 + 4 + 8 + 4);
    const f = new PduFramer();
    f.headerDigest = f.dataDigest = true;
    f.push(good);
    const r = f.next();
    expect(r && "pdu" in r && r.pdu.data.toString()).toBe("hello");

    const badData = Buffer.from(good);
    badData[53] = badData[53]! ^ 1;
    const f2 = new PduFramer();
    f2.headerDigest = f2.dataDigest = true;
    f2.push(badData);
    expect(f2.next()).toMatchObject({ error: { kind: "data-digest" } });

    const badHeader = Buffer.from(good);
    badHeader[3] = badHeader[3]! ^ 1;
    const f3 = new PduFramer();
    f3.headerDigest = f3.dataDigest = true;
    f3.push(badHeader);
    expect(f3.next()).toMatchObject({ error: { kind: "header-digest" } });
  });

  it("refuses a data segment longer than the limit before buffering it", () => {
    const bhs = newBhs(Op.ScsiCommand, 0);
    bhs[5] = 0x10; // 1 MiB
    const f = new PduFramer();
    f.push(bhs);
    expect(f.next()).toMatchObject({ error: { kind: "too-long", length: 1 << 20, limit: 8192 } });
  });
});

describe("text keys", () => {
  it("round-trips key=value pairs and rejects keys without '='", () => {
    const pairs: Array<[string, string]> = [
      ["InitiatorName", "iqn.2024-01.x:y"],
      ["AuthMethod", "CHAP,None"],
      ["Empty", ""],
    ];
    expect(parseTextKeys(encodeTextKeys(pairs))).toEqual(pairs);
    expect(parseTextKeys(Buffer.from("novalue\0"))).toHaveProperty("error");
  });
});
