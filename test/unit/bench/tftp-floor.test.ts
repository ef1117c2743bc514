// bench/lib/tftp-floor.mjs, the node:dgram reference that bench/tftp-perf.mjs measures beside
// the built-in server: it must serve the bytes it was given, lock-step, whatever the blksize
// (a floor that sent less would look faster than it is), and refuse any other name.
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BusyPoll } from "../../../harness/net/busy-poll.js";
import { tftpGet } from "../../../harness/tftp/client.js";
import { decodePacket, encodeData, encodeError, encodeOack } from "../../../harness/tftp/packets.js";
import { bindTransferSocket } from "../../../harness/tftp/socket.js";

interface Floor {
  port: number;
  close(): Promise<void>;
}

const lib = pathToFileURL(join(process.cwd(), "bench/lib/tftp-floor.mjs")).href;
const payload = randomBytes(1024 * 1024 + 700);
// More than 64 Ki blocks of 512: the block number wraps past 65535.
const wrapping = randomBytes(512 * 65536 + 700);

describe("node:dgram TFTP floor (bench reference)", () => {
  let floor: Floor;
  let wrapFloor: Floor;
  beforeAll(async () => {
    const { startTftpFloor } = (await import(lib)) as {
      startTftpFloor(name: string, bytes: Buffer, tftp: object): Promise<Floor>;
    };
    const tftp = { decodePacket, encodeData, encodeError, encodeOack, bindTransferSocket, BusyPoll };
    floor = await startTftpFloor("payload.bin", payload, tftp);
    wrapFloor = await startTftpFloor("payload.bin", wrapping, tftp);
  });
  afterAll(() => Promise.all([floor?.close(), wrapFloor?.close()]));

  for (const blksize of [undefined, 512, 1468, 8192]) {
    it(`serves the file byte for byte, lock-step, blksize ${blksize ?? "default"}`, async () => {
      const got = await tftpGet({ host: "127.0.0.1", port: floor.port, filename: "payload.bin", blksize, tsize: true });
      expect(got.data.equals(payload)).toBe(true);
      expect(got.blocks).toBe(Math.floor(payload.length / (blksize ?? 512)) + 1);
      if (blksize) expect(got.oack?.get("blksize")).toBe(String(blksize));
      expect(got.oack?.get("tsize")).toBe(String(payload.length));
    });
  }

  it("serves past block 65535 (the block number wraps)", async () => {
    const got = await tftpGet({ host: "127.0.0.1", port: wrapFloor.port, filename: "payload.bin", blksize: 512 });
    expect(got.blocks).toBe(Math.floor(wrapping.length / 512) + 1); // 65538
    expect(got.data.equals(wrapping)).toBe(true);
  });

  it("ignores windowsize: it answers lock-step, as tftpd-hpa does", async () => {
    const got = await tftpGet({ host: "127.0.0.1", port: floor.port, filename: "payload.bin", blksize: 1468, windowsize: 16 });
    expect(got.oack?.has("windowsize")).toBe(false);
    expect(got.data.equals(payload)).toBe(true);
  });

  it("refuses any other name with ERROR 1", async () => {
    await expect(tftpGet({ host: "127.0.0.1", port: floor.port, filename: "other.bin", maxRetries: 1 })).rejects.toMatchObject({
      code: 1,
    });
  });
});
