// Golden iPXE scripts for Ironic's iSCSI boot-from-volume path, the LUN encoding iPXE's
// scsi_parse_lun() expects, input validation, and a render → parse round-trip property.
import { fc, test } from "@fast-check/vitest";
import { describe, expect, it } from "vitest";
import {
  IpxeScriptInputError,
  ipxeLunField,
  parseIpxeLunField,
  parseIscsiRootPath,
  renderChainScript,
  renderSanBootScript,
  type SanBootInput,
  tftpUrl,
} from "../../../firmware/ipxe/index.js";

const INITIATOR = "iqn.2010-04.org.ipxe:node-1";
const ROOT_IQN = "iqn.2026-01.org.bootproof:root";
const portal = { host: "10.0.2.2", port: 3260 };

const retryTail = (drives: string[]) =>
  [
    ":fail_iscsi_retry",
    "echo Failed to attach iSCSI volume(s), retrying in 10 seconds.",
    ...drives.map((d) => `sanunhook --drive ${d} ||`),
    "sleep 10",
    "goto boot_iscsi",
    "",
  ].join("\n");

const NO_CHAP = ["clear username", "clear password", "clear reverse-username", "clear reverse-password"];

describe("golden scripts", () => {
  it("single volume without CHAP", () => {
    const script = renderSanBootScript({
      initiatorIqn: INITIATOR,
      volumes: [{ bootIndex: 0, targetIqn: ROOT_IQN, portals: [portal], lun: 1 }],
    });
    expect(script).toBe(
      [
        "#!ipxe",
        "",
        ":boot_iscsi",
        `set initiator-iqn ${INITIATOR}`,
        ...NO_CHAP,
        `sanhook --drive 0x80 iscsi:10.0.2.2::3260:1:${ROOT_IQN} || goto fail_iscsi_retry`,
        "sanboot --no-describe || goto fail_iscsi_retry",
        "",
        retryTail(["0x80"]),
      ].join("\n"),
    );
  });

  it("one-way CHAP", () => {
    const script = renderSanBootScript({
      initiatorIqn: INITIATOR,
      volumes: [
        { bootIndex: 0, targetIqn: ROOT_IQN, portals: [portal], lun: 0, chap: { username: "node1", password: "secret-123456" } },
      ],
    });
    expect(script).toContain(
      [
        `set initiator-iqn ${INITIATOR}`,
        "set username node1",
        "set password secret-123456",
        "clear reverse-username",
        "clear reverse-password",
        `sanhook --drive 0x80 iscsi:10.0.2.2::3260:0:${ROOT_IQN} || goto fail_iscsi_retry`,
        "sanboot --no-describe || goto fail_iscsi_retry",
      ].join("\n"),
    );
  });

  it("mutual CHAP sets reverse credentials", () => {
    const script = renderSanBootScript({
      initiatorIqn: INITIATOR,
      volumes: [
        {
          bootIndex: 0,
          targetIqn: ROOT_IQN,
          portals: [portal],
          lun: 0,
          chap: { username: "node1", password: "secret-123456", reverse: { username: "target1", password: "mutual-654321" } },
        },
      ],
    });
    expect(script).toContain(
      [
        "set username node1",
        "set password secret-123456",
        "set reverse-username target1",
        "set reverse-password mutual-654321",
      ].join("\n"),
    );
  });

  it("extra volumes: hooked 0x81.. in boot_index order, each with its own credentials; boot credentials restored", () => {
    const input: SanBootInput = {
      initiatorIqn: INITIATOR,
      volumes: [
        { bootIndex: 5, targetIqn: "iqn.2026-01.org.bootproof:logs", portals: [{ host: "10.0.2.2", port: 3262 }], lun: 2 },
        {
          bootIndex: 0,
          targetIqn: ROOT_IQN,
          portals: [portal],
          lun: 0,
          chap: { username: "root-user", password: "root-secret-1" },
        },
        {
          bootIndex: 1,
          targetIqn: "iqn.2026-01.org.bootproof:data",
          portals: [{ host: "10.0.2.2", port: 3261 }],
          lun: 10,
          chap: {
            username: "data-user",
            password: "data-secret-1",
            reverse: { username: "data-tgt", password: "data-mutual-1" },
          },
        },
      ],
    };
    expect(renderSanBootScript(input)).toBe(
      [
        "#!ipxe",
        "",
        ":boot_iscsi",
        `set initiator-iqn ${INITIATOR}`,
        "set username root-user",
        "set password root-secret-1",
        "clear reverse-username",
        "clear reverse-password",
        `sanhook --drive 0x80 iscsi:10.0.2.2::3260:0:${ROOT_IQN} || goto fail_iscsi_retry`,
        "set username data-user",
        "set password data-secret-1",
        "set reverse-username data-tgt",
        "set reverse-password data-mutual-1",
        "sanhook --drive 0x81 iscsi:10.0.2.2::3261:a:iqn.2026-01.org.bootproof:data || goto fail_iscsi_retry",
        ...NO_CHAP,
        "sanhook --drive 0x82 iscsi:10.0.2.2::3262:2:iqn.2026-01.org.bootproof:logs || goto fail_iscsi_retry",
        "set username root-user",
        "set password root-secret-1",
        "clear reverse-username",
        "clear reverse-password",
        "sanboot --no-describe || goto fail_iscsi_retry",
        "",
        retryTail(["0x82", "0x81", "0x80"]),
      ].join("\n"),
    );
  });

  it("several portals become multipath root paths on one line, in the given order", () => {
    const script = renderSanBootScript({
      initiatorIqn: INITIATOR,
      volumes: [
        {
          bootIndex: 0,
          targetIqn: ROOT_IQN,
          portals: [portal, { host: "storage-b.example", port: 3261 }],
          lun: 3,
        },
      ],
    });
    expect(script).toContain(
      `sanhook --drive 0x80 iscsi:10.0.2.2::3260:3:${ROOT_IQN} iscsi:storage-b.example::3261:3:${ROOT_IQN} || goto fail_iscsi_retry\n`,
    );
  });

  it("without retry the script exits after printing the failure", () => {
    const script = renderSanBootScript(
      { initiatorIqn: INITIATOR, volumes: [{ bootIndex: 0, targetIqn: ROOT_IQN, portals: [portal], lun: 0 }] },
      { retryDelaySeconds: false, dhcp: true },
    );
    expect(script).toContain(":boot_iscsi\ndhcp || goto fail_iscsi_retry\n");
    expect(script.endsWith(":fail_iscsi_retry\necho Failed to attach iSCSI volume(s), giving up.\nexit 1\n")).toBe(true);
  });
});

describe("LUN as iPXE parses it (hex, SAM first level)", () => {
  it.each([
    [0, "0"],
    [1, "1"],
    [10, "a"],
    [255, "ff"],
    [256, "4100"],
    [16383, "7fff"],
  ])("LUN %i is written %s", (lun, field) => {
    expect(ipxeLunField(lun)).toBe(field);
    const script = renderSanBootScript({
      initiatorIqn: INITIATOR,
      volumes: [{ bootIndex: 0, targetIqn: ROOT_IQN, portals: [portal], lun }],
    });
    expect(script).toContain(` iscsi:10.0.2.2::3260:${field}:${ROOT_IQN} `);
    expect(parseIpxeLunField(field)).toBe(lun);
  });

  it("a decimal LUN is a different LUN (the Ironic bug) or refused", () => {
    expect(parseIpxeLunField("10")).toBe(16);
    expect(() => parseIpxeLunField("255")).toThrow(/peripheral addressing on bus 2.*decimal LUN is a bug/);
  });

  it("reads iPXE's multi-level form and empty field", () => {
    expect(parseIpxeLunField("")).toBe(0);
    expect(parseIpxeLunField("1-0-0-0")).toBe(1);
    expect(() => parseIpxeLunField("1-1")).toThrow(/hierarchical/);
    expect(() => parseIpxeLunField("0x1")).toThrow(/hex digits/);
  });
});

describe("parseIscsiRootPath", () => {
  it("applies RFC 4173 defaults and keeps colons in the IQN", () => {
    expect(parseIscsiRootPath(`iscsi:10.0.2.2::::${ROOT_IQN}`)).toEqual({
      server: "10.0.2.2",
      port: 3260,
      lun: 0,
      targetIqn: ROOT_IQN,
    });
    expect(parseIscsiRootPath("iscsi:h:6:3261:ff:iqn.2026-01.a:b:c")).toEqual({
      server: "h",
      port: 3261,
      lun: 255,
      targetIqn: "iqn.2026-01.a:b:c",
    });
  });

  it.each([
    ["http://x/y", /must start with 'iscsi:'/],
    ["iscsi:10.0.2.2:::1", /needs 5 fields/],
    ["iscsi:::::iqn.2026-01.a", /server field is empty/],
    ["iscsi:h:17::0:iqn.2026-01.a", /protocol '17' is not TCP/],
    ["iscsi:h::70000:0:iqn.2026-01.a", /port '70000'/],
    ["iscsi:h::3260:0:", /target IQN is empty/],
  ])("refuses %s", (path, message) => {
    expect(() => parseIscsiRootPath(path)).toThrow(message);
  });
});

describe("validation names the field", () => {
  const problems = (input: unknown) => {
    try {
      renderSanBootScript(input);
    } catch (error) {
      expect(error).toBeInstanceOf(IpxeScriptInputError);
      return (error as IpxeScriptInputError).problems.map((p) => p.path);
    }
    throw new Error("expected a validation error");
  };
  const volume = { bootIndex: 0, targetIqn: ROOT_IQN, portals: [portal], lun: 0 };

  it("bad initiator and target IQNs", () => {
    expect(problems({ initiatorIqn: "iqn.2010-04.Org.IPXE:x", volumes: [volume] })).toEqual(["initiatorIqn"]);
    expect(problems({ initiatorIqn: INITIATOR, volumes: [{ ...volume, targetIqn: "iqn.2026-13.org.x" }] })).toEqual([
      "volumes[0].targetIqn",
    ]);
  });

  it("duplicate boot_index and missing boot_index 0", () => {
    expect(problems({ initiatorIqn: INITIATOR, volumes: [volume, { ...volume, lun: 1 }] })).toEqual(["volumes[1].bootIndex"]);
    expect(problems({ initiatorIqn: INITIATOR, volumes: [{ ...volume, bootIndex: 1 }] })).toEqual(["volumes"]);
  });

  it("LUN out of range, bad portals, unsafe CHAP values", () => {
    expect(problems({ initiatorIqn: INITIATOR, volumes: [{ ...volume, lun: 16384 }] })).toEqual(["volumes[0].lun"]);
    expect(problems({ initiatorIqn: INITIATOR, volumes: [{ ...volume, lun: -1 }] })).toEqual(["volumes[0].lun"]);
    expect(problems({ initiatorIqn: INITIATOR, volumes: [{ ...volume, portals: [] }] })).toEqual(["volumes[0].portals"]);
    expect(problems({ initiatorIqn: INITIATOR, volumes: [{ ...volume, portals: [portal, portal] }] })).toEqual([
      "volumes[0].portals[1]",
    ]);
    expect(problems({ initiatorIqn: INITIATOR, volumes: [{ ...volume, portals: [{ host: "fe80::1", port: 3260 }] }] })).toEqual([
      "volumes[0].portals[0].host",
    ]);
    expect(
      problems({ initiatorIqn: INITIATOR, volumes: [{ ...volume, chap: { username: "u", password: ["a$", "{b}"].join("") } }] }),
    ).toEqual(["volumes[0].chap.password"]);
  });

  it("never repeats a CHAP secret in the error", () => {
    try {
      renderSanBootScript({ initiatorIqn: INITIATOR, volumes: [{ ...volume, chap: { username: "u", password: "top secret" } }] });
    } catch (error) {
      expect(String(error)).not.toContain("top secret");
      return;
    }
    throw new Error("expected a validation error");
  });
});

describe("chain script", () => {
  it("renders dhcp + chain to the built-in TFTP server", () => {
    expect(renderChainScript({ url: tftpUrl("10.0.2.2", 40123, "/boot.ipxe") })).toBe(
      "#!ipxe\ndhcp\nchain tftp://10.0.2.2:40123/boot.ipxe\n",
    );
    expect(renderChainScript({ url: "http://10.0.2.2:8080/x.ipxe", dhcp: false })).toBe(
      "#!ipxe\nchain http://10.0.2.2:8080/x.ipxe\n",
    );
  });

  it("refuses URLs a script cannot carry", () => {
    expect(() => renderChainScript({ url: "tftp://10.0.2.2/a b" })).toThrow(/not a plain/);
    expect(() => renderChainScript({ url: ["tftp://10.0.2.2/$", "{x}"].join("") })).toThrow(/not a plain/);
    expect(() => tftpUrl("10.0.2.2", 69, "../x")).toThrow(/'\.\.'/);
  });
});

// --- property: whatever is rendered parses back to the same target, LUN and portals ---
const label = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?$/);
const iqnArb = fc
  .tuple(fc.integer({ min: 1990, max: 2099 }), fc.integer({ min: 1, max: 12 }), fc.array(label, { minLength: 1, maxLength: 3 }))
  .chain(([year, month, labels]) =>
    fc
      .option(fc.stringMatching(/^[a-z0-9.:-]{1,20}$/), { nil: undefined })
      .map((unique) => `iqn.${year}-${String(month).padStart(2, "0")}.${labels.join(".")}${unique ? `:${unique}` : ""}`),
  );
const hostArb = fc.oneof(
  fc.ipV4(),
  fc.array(label, { minLength: 1, maxLength: 3 }).map((l) => l.join(".")),
);
const portalArb = fc.record({ host: hostArb, port: fc.integer({ min: 1, max: 65535 }) });
const secretArb = fc.stringMatching(/^[A-Za-z0-9._~+=@%/,:!-]{1,24}$/);
const volumeArb = fc.record({
  targetIqn: iqnArb,
  portals: fc.uniqueArray(portalArb, { minLength: 1, maxLength: 3, selector: (p) => `${p.host}:${p.port}` }),
  lun: fc.integer({ min: 0, max: 16383 }),
  chap: fc.option(
    fc.record({
      username: secretArb,
      password: secretArb,
      reverse: fc.option(fc.record({ username: secretArb, password: secretArb }), { nil: undefined }),
    }),
    { nil: undefined },
  ),
});
const inputArb = fc
  .record({
    initiatorIqn: iqnArb,
    volumes: fc.array(volumeArb, { minLength: 1, maxLength: 5 }),
    order: fc.infiniteStream(fc.nat()),
  })
  .chain(({ initiatorIqn, volumes }) =>
    fc
      .shuffledSubarray(
        Array.from({ length: 20 }, (_, i) => i),
        { minLength: volumes.length - 1, maxLength: volumes.length - 1 },
      )
      .map((extraIndexes) => ({
        initiatorIqn,
        // boot_index 0 plus distinct, unordered extra indexes
        volumes: volumes.map((v, i) => ({ ...v, bootIndex: i === 0 ? 0 : extraIndexes[i - 1]! + 1 })),
      })),
  );

test.prop([inputArb], { numRuns: 300 })(
  "render → parse root paths gives back every volume's target, LUN and portals",
  (input) => {
    const script = renderSanBootScript(input);
    const hooks = script.split("\n").filter((line) => line.startsWith("sanhook "));
    expect(hooks.length).toBe(input.volumes.length);
    const byIndex = [...input.volumes].sort((a, b) => a.bootIndex - b.bootIndex);
    hooks.forEach((line, i) => {
      const [, , drive, ...rest] = line.split(" ");
      expect(drive).toBe(`0x${(0x80 + i).toString(16)}`);
      const paths = rest.slice(0, rest.indexOf("||"));
      const volume = byIndex[i]!;
      expect(paths.map(parseIscsiRootPath)).toEqual(
        volume.portals.map((p) => ({ server: p.host, port: p.port, lun: volume.lun, targetIqn: volume.targetIqn })),
      );
    });
    expect(script).toContain(`set initiator-iqn ${input.initiatorIqn}\n`);
    // The line that boots comes after every hook and boots the default drive 0x80.
    expect(script.indexOf("sanboot --no-describe")).toBeGreaterThan(script.lastIndexOf("sanhook "));
  },
);
