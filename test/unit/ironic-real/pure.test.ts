// The pure parts of the real-Ironic scenario: the records a case becomes, how Ironic's script
// is read, the spec's model of the storage interface, what bootproof points at itself.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ironicRealCaseArbitrary } from "../../../scenarios/ironic/real/arbitraries.js";
import type { IronicRealCase } from "../../../scenarios/ironic/real/case.js";
import {
  forwardedPortals,
  nodeTopology,
  pointedBootfile,
  redactScript,
  storageTargets,
} from "../../../scenarios/ironic/real/driver.js";
import { realIronicExamples, realWrongChapCase } from "../../../scenarios/ironic/real/index.js";
import { connectionProperties, ironicRequest } from "../../../scenarios/ironic/real/request.js";
import { hookedDrives } from "../../../scenarios/ironic/real/script.js";
import { specDecision } from "../../../scenarios/ironic/real/spec-model.js";

const example = (name: string): IronicRealCase => structuredClone(realIronicExamples.find((e) => e.name === name)!.input);

describe("request: a case as Ironic's records", () => {
  it("writes os-brick's connection keys, the list form beside the singular keys, CHAP and reverse credentials", () => {
    const [volume] = example("bios").volumes;
    volume!.connection.portals.push({ host: "10.0.2.101", port: 3261, family: 4 });
    volume!.connection.listForm = true;
    volume!.connection.chap = { username: "u", password: "p", reverse: { username: "ru", password: "rp" } };
    expect(connectionProperties(volume!)).toEqual({
      target_iqn: "iqn.2010-10.org.openstack:volume-6f1e0c2a",
      target_lun: 1,
      target_portal: "10.0.2.100:3260",
      target_discovered: false,
      target_portals: ["10.0.2.100:3260", "10.0.2.101:3261"],
      target_iqns: ["iqn.2010-10.org.openstack:volume-6f1e0c2a", "iqn.2010-10.org.openstack:volume-6f1e0c2a"],
      target_luns: [1, 1],
      auth_method: "CHAP",
      auth_username: "u",
      auth_password: "p",
      reverse_username: "ru",
      reverse_password: "rp",
    });
    expect(
      connectionProperties({
        ...volume!,
        connection: { ...volume!.connection, portals: [{ host: "fd00::1", port: 3260, family: 6 }] },
      }).target_portal,
    ).toBe("[fd00::1]:3260");
  });

  it("registers targets bare with Cinder's standalone flow and lets Cinder answer; external storage registers the data", () => {
    const bare = example("bios");
    bare.node.targetRegistration = "bare";
    const request = ironicRequest(bare);
    expect(request.targets[0]?.properties).toEqual({});
    expect(request.targets[0]?.cinder_connection?.target_lun).toBe(1);
    const external = ironicRequest(example("bios-external-storage"));
    expect(external.targets[0]?.properties.target_lun).toBe(3);
    expect(external.targets[0]?.cinder_connection).toBeUndefined();
    expect(request.node.capabilities).toEqual({ iscsi_boot: "true" });
  });
});

describe("reading Ironic's :boot_iscsi section", () => {
  const script = [
    "#!ipxe",
    ":boot_iscsi",
    "imgfree",
    "set username u1",
    "set password p 1 $x",
    "set initiator-iqn iqn.2010-04.org.openstack:node",
    "sanhook --drive 0x80 iscsi:10.0.2.100::3260:12:iqn.a || goto fail_iscsi_retry",
    "set username u2",
    "sanhook --drive 0x81 iscsi:10.0.2.100::3260:a:iqn.b iscsi:10.0.2.101::3261:a:iqn.b || goto fail_iscsi_retry",
    "sanboot --no-describe || goto fail_iscsi_retry",
    "",
    ":fail_iscsi_retry",
    "set username never",
  ].join("\n");

  it("gives each drive its root paths as iPXE parses them (hex LUN) and the settings in force", () => {
    const drives = hookedDrives(script)!;
    expect(drives.map((d) => d.drive)).toEqual([0x80, 0x81]);
    expect(drives[0]!.paths[0]!.parsed).toMatchObject({ server: "10.0.2.100", port: 3260, lun: 0x12, targetIqn: "iqn.a" });
    expect(drives[0]!.settings).toEqual({
      username: "u1",
      password: "p 1 $x",
      "initiator-iqn": "iqn.2010-04.org.openstack:node",
    });
    expect(drives[1]!.paths.map((p) => p.parsed?.lun)).toEqual([10, 10]);
    expect(drives[1]!.settings.username).toBe("u2");
    expect(hookedDrives("#!ipxe\n:deploy\nboot\n")).toBeUndefined();
  });

  it("redacts every password line of a script and nothing else", () => {
    const redacted = redactScript(script);
    expect(redacted).not.toMatch(/p 1 \$x/);
    expect(redacted).toMatch(/^set password <redacted>$/m);
    expect(redacted).toMatch(/^set username u1$/m);
    expect(redactScript("set reverse-password s3cret")).toBe("set reverse-password <redacted>");
  });
});

describe("the spec's storage interface model", () => {
  it("accepts the examples as boots from volume with Cinder attach lists", () => {
    for (const { input } of realIronicExamples) {
      const decision = specDecision(input);
      expect(decision).toMatchObject({ accepts: true, bootsFromVolume: true, shouldWriteImage: false });
      expect(decision.cinderVolumes).toEqual(
        input.node.storageInterface === "cinder" ? input.volumes.map((v) => v.volumeId) : [],
      );
    }
  });

  it("refuses without iscsi_boot=true, without a connector, with ramdisk deploy, and with nothing to deploy", () => {
    const refusal = (change: (input: IronicRealCase) => void) => {
      const input = example("bios");
      change(input);
      return specDecision(input).refusals.join("; ");
    };
    expect(refusal((i) => (i.node.iscsiBoot = "false"))).toMatch(/iscsi_boot=false, not true/);
    expect(refusal((i) => (i.node.iscsiBoot = undefined))).toMatch(/iscsi_boot=\(unset\)/);
    expect(refusal((i) => (i.connector = undefined))).toMatch(/no iqn volume connector/);
    expect(refusal((i) => (i.node.deployInterface = "ramdisk"))).toMatch(/ramdisk deploy interface/);
    expect(refusal((i) => (i.volumes[0]!.bootIndex = 1))).toMatch(/nothing to deploy/);
    const noop = example("bios");
    noop.node.storageInterface = "noop";
    noop.node.imageSource = true;
    expect(specDecision(noop)).toMatchObject({
      accepts: true,
      bootsFromVolume: false,
      shouldWriteImage: true,
      cinderVolumes: [],
    });
  });
});

describe("pointing the boot at bootproof", () => {
  it("keeps Ironic's bootfile path and replaces only its host and port", () => {
    expect(pointedBootfile("http://127.0.0.1:41234/boot.ipxe", { http: { host: "10.0.2.2", port: 8000 } })).toBe(
      "http://10.0.2.2:8000/boot.ipxe",
    );
  });

  it("forwards every IPv4 portal once to the target, none while the target's port is unknown", () => {
    const input = example("bios-chap-extra-volume");
    expect(forwardedPortals(input)).toEqual([{ host: "10.0.2.100", port: 3260 }]);
    const planned = nodeTopology(input, "http://127.0.0.1:1/boot.ipxe", { http: { host: "10.0.2.2", port: 0 } });
    expect(planned.machine.nics?.[0]?.user?.guestForwards).toEqual([]);
    const booted = nodeTopology(input, "http://127.0.0.1:1/boot.ipxe", {
      http: { host: "10.0.2.2", port: 9 },
      iscsi: { host: "10.0.2.2", port: 4000 },
    });
    expect(booted.machine.nics?.[0]?.user?.guestForwards).toEqual([
      { guestAddress: "10.0.2.100", guestPort: 3260, hostPort: 4000 },
    ]);
    expect(booted.giveUp?.line).toBe("Failed to attach iSCSI volume(s), retrying in 10 seconds.");
  });

  it("the target demands the storage side's secret in the wrong-CHAP variant", () => {
    const [target] = storageTargets(realWrongChapCase);
    expect(target?.chap).toEqual({ username: "node-user", secret: "not-the-node-secret", mutual: undefined });
  });
});

describe("generated inputs", () => {
  it("keep volume ids, IQNs and boot indexes distinct, LUNs in Cinder's range, and several portals only in list form", () => {
    fc.assert(
      fc.property(ironicRealCaseArbitrary, (input) => {
        const ids = input.volumes.map((v) => v.volumeId);
        const iqns = input.volumes.map((v) => v.connection.targetIqn);
        const indexes = input.volumes.map((v) => v.bootIndex);
        expect(new Set(ids).size).toBe(ids.length);
        expect(new Set(iqns).size).toBe(iqns.length);
        expect(new Set(indexes).size).toBe(indexes.length);
        for (const v of input.volumes) {
          expect(v.connection.targetLun).toBeGreaterThanOrEqual(0);
          expect(v.connection.targetLun).toBeLessThanOrEqual(16383);
          if (v.connection.portals.length > 1) expect(v.connection.listForm).toBe(true);
        }
      }),
      { numRuns: 300, seed: 1 },
    );
  });

  it("draw every storage interface, both boot modes, IPv6 portals, mutual CHAP and LUNs above 255", () => {
    const sample = fc.sample(ironicRealCaseArbitrary, { numRuns: 400, seed: 3 });
    expect(new Set(sample.map((i) => i.node.storageInterface))).toEqual(new Set(["cinder", "external", "noop"]));
    expect(new Set(sample.map((i) => i.node.bootMode))).toEqual(new Set(["bios", "uefi"]));
    const volumes = sample.flatMap((i) => i.volumes);
    expect(volumes.some((v) => v.connection.portals.some((p) => p.family === 6))).toBe(true);
    expect(volumes.some((v) => v.connection.chap?.reverse)).toBe(true);
    expect(volumes.some((v) => v.connection.targetLun > 255)).toBe(true);
    expect(volumes.some((v) => /[^A-Za-z0-9]/.test(v.connection.chap?.password ?? ""))).toBe(true);
  });
});

describe("how iPXE reads a `set` value (measured with real boots)", () => {
  it("collapses runs of whitespace, expands setting references to nothing, keeps quotes and backslashes", async () => {
    const { ipxeSetValue } = await import("../../../scenarios/ironic/real/script.js");
    expect(ipxeSetValue("plain-secret-ok1")).toBe("plain-secret-ok1");
    expect(ipxeSetValue("abc  defghijkl")).toBe("abc defghijkl");
    expect(ipxeSetValue(`abc$\{x}defghij`)).toBe("abcdefghij");
    expect(ipxeSetValue(`abc\\defghijkl`)).toBe(`abc\\defghijkl`);
    expect(ipxeSetValue(`quote"quote12`)).toBe(`quote"quote12`);
    expect(ipxeSetValue(" lead and trail ")).toBe("lead and trail");
    // What Ironic wrote keeps a secret's trailing space; iPXE then drops it.
    const [drive] = hookedDrives(":boot_iscsi\nset password abc def \nsanhook --drive 0x80 iscsi:10.0.2.100::3260:0:iqn.a\n")!;
    expect(drive?.settings.password).toBe("abc def ");
    expect(ipxeSetValue(drive!.settings.password!)).toBe("abc def");
  });
});
