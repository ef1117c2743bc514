import { describe, expect, it } from "vitest";
import { REDACTED, redactCredentials } from "../../../harness/report/redact.js";

describe("redactCredentials", () => {
  it("replaces every credential, whatever its shape, and keeps everything else", () => {
    const input = {
      node: { uuid: "n1", bootMode: "bios" },
      volumes: [
        { properties: { authMethod: "CHAP", authUsername: "node-user", authPassword: "s3cret", reversePassword: "r3v" } },
      ],
      storage: { targetSecrets: { "boot-volume": "other", nested: ["a", { deep: "b" }] }, stall: false },
      secret: 42,
      token: null,
    };
    const { value, redacted } = redactCredentials(input);
    expect(redacted).toBe(true);
    expect(value).toEqual({
      node: { uuid: "n1", bootMode: "bios" },
      volumes: [
        { properties: { authMethod: "CHAP", authUsername: "node-user", authPassword: REDACTED, reversePassword: REDACTED } },
      ],
      storage: { targetSecrets: { "boot-volume": REDACTED, nested: [REDACTED, { deep: REDACTED }] }, stall: false },
      secret: REDACTED,
      token: null,
    });
    expect(JSON.stringify(value)).not.toMatch(/s3cret|r3v|other|"a"|"b"|42/);
    expect(input.volumes[0]?.properties.authPassword).toBe("s3cret"); // the input itself is untouched
  });

  it("says when there was nothing to hide", () => {
    expect(redactCredentials({ disks: [{ bus: "scsi", serial: "S1" }], seed: 3 })).toEqual({
      value: { disks: [{ bus: "scsi", serial: "S1" }], seed: 3 },
      redacted: false,
    });
    expect(redactCredentials("plain")).toEqual({ value: "plain", redacted: false });
  });
});
