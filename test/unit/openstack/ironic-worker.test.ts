// Real Ironic (Debian's python3-ironic) through the ironic worker, no guest: what its
// conductor code decides and writes for a node, the defects bootproof's properties find in
// it, and the worker's error paths. One worker start (~1.5 s) serves the whole file.
import { afterAll, describe, expect, it } from "vitest";
import * as z from "zod/mini";
import {
  dhcpBootfile,
  type IronicDecision,
  ironicDecide,
  ironicVersions,
  ironicWorkerSpec,
} from "../../../harness/openstack/ironic.js";
import { stopAllWorkers, WorkerError, workerFor } from "../../../harness/openstack/worker.js";
import type { IronicRealCase, IronicVolume } from "../../../scenarios/ironic/real/case.js";
import { decisionOf, nodeConfigOf, realIronicBoots } from "../../../scenarios/ironic/real/driver.js";
import { realIronicExamples } from "../../../scenarios/ironic/real/index.js";
import { ironicRequest } from "../../../scenarios/ironic/real/request.js";
import { ironicOutcome, realIronicStaticProperties } from "../../../scenarios/ironic/real/static-properties.js";

afterAll(() => stopAllWorkers());

const example = (name: string): IronicRealCase => structuredClone(realIronicExamples.find((e) => e.name === name)!.input);

/** The example "bios" with its boot volume changed. */
function bios(change: (volume: IronicVolume) => void, extra?: IronicVolume): IronicRealCase {
  const input = example("bios");
  change(input.volumes[0]!);
  if (extra) input.volumes.push(extra);
  return input;
}

async function staticResults(input: IronicRealCase) {
  await realIronicBoots(input);
  return Object.fromEntries(realIronicStaticProperties.map((p) => [p.name, p.check(input, {})]));
}

describe("the ironic worker (real Ironic, no guest)", () => {
  it("reports Ironic's version and where it was imported from", async () => {
    const versions = await ironicVersions();
    expect(versions.ironic).toMatch(/^\d+\.\d+/);
    expect(versions.ironic_path).toBe("/usr/lib/python3/dist-packages/ironic");
  });

  it("runs a boot from volume through the conductor's own stages and writes the node's iPXE boot", async () => {
    const input = example("bios");
    const decision: IronicDecision = await ironicDecide(ironicRequest(input));
    expect(decision.refusal).toBeUndefined();
    expect(decision.validation?.storage?.result).toBe(true);
    expect(decision.should_write_image).toBe(false);
    expect(decision.stages.map((s) => s.stage)).toEqual(
      expect.arrayContaining([
        "storage.validate",
        "deploy.prepare",
        "deploy step prepare_instance_boot",
        "power off",
        "power on",
      ]),
    );
    expect(decision.driver_internal_info?.boot_from_volume).toBeTypeOf("string");
    // Ironic's layout: boot.ipxe, the node's config and a MAC link to it.
    const paths = (decision.files ?? []).map((f) => f.path);
    expect(paths).toEqual(expect.arrayContaining(["boot.ipxe", `${input.node.uuid}/config`, "pxelinux.cfg/52-54-00-b0-07-01"]));
    expect(decision.files?.find((f) => f.path === "pxelinux.cfg/52-54-00-b0-07-01")).toEqual({
      path: "pxelinux.cfg/52-54-00-b0-07-01",
      link: `../${input.node.uuid}/config`,
    });
    expect(dhcpBootfile(decision)).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/boot\.ipxe$/);
    const config = nodeConfigOf(input, decision)!;
    expect(config).toMatch(/sanhook --drive 0x80 iscsi:10\.0\.2\.100::3260:1:iqn\.2010-10\.org\.openstack:volume-6f1e0c2a/);
    // The Cinder client boundary: attach at deploy, detach at power off, attach again at power on.
    const methods = decision.cinder_calls.map((c) => c.method);
    expect(methods).toEqual([
      "get",
      "reserve",
      "initialize_connection",
      "attach",
      "set_metadata",
      "-- power off --",
      "get",
      "begin_detaching",
      "terminate_connection",
      "detach",
      "set_metadata",
      "-- power on --",
      "get",
      "reserve",
      "initialize_connection",
      "attach",
      "set_metadata",
    ]);
    const results = await staticResults(input);
    expect(Object.values(results).every((r) => r.ok)).toBe(true);
  });

  it("external storage never calls Cinder; the registered properties are the connection data", async () => {
    const input = example("bios-external-storage");
    const results = await staticResults(input);
    expect(decisionOf(input).cinder_calls.filter((c) => !c.method.startsWith("-- "))).toEqual([]);
    expect(results["cinder-attach-detach"]?.ok).toBe(true);
    expect(ironicOutcome(input, decisionOf(input))).toBe("boots-from-volume");
  });

  it("finds Ironic writing the LUN in decimal: LUN 12 is read by iPXE as LUN 18", async () => {
    const results = await staticResults(bios((v) => (v.connection.targetLun = 12)));
    expect(results["ipxe-script-matches-cinder"]?.message).toMatch(
      /Cinder said LUN 12; Ironic wrote '.*:12:.*', whose LUN iPXE reads as 18/,
    );
  });

  it("finds Ironic crashing on an IPv6 portal (its host:port split)", async () => {
    const input = bios((v) => (v.connection.portals = [{ host: "fd00:b007::1", port: 3260, family: 6 }]));
    const results = await staticResults(input);
    expect(decisionOf(input).refusal?.error).toMatchObject({ type: "builtins.ValueError" });
    expect(results["ironic-decision-matches-spec"]?.message).toMatch(
      /Ironic refused a node the spec accepts .*too many values to unpack/,
    );
  });

  it("finds Ironic crashing on an extra volume without CHAP credentials", async () => {
    const data: IronicVolume = {
      volumeId: "1a8b7c6d-5e4f-4a3b-9c2d-1e0f2a3b4c5d",
      bootIndex: 1,
      connection: {
        targetIqn: "iqn.2010-10.org.openstack:volume-1a8b7c6d",
        targetLun: 2,
        portals: [{ host: "10.0.2.100", port: 3260, family: 4 }],
        listForm: false,
      },
    };
    const input = bios(() => {}, data);
    const results = await staticResults(input);
    expect(decisionOf(input).refusal).toMatchObject({
      stage: "deploy step prepare_instance_boot",
      error: { type: "builtins.KeyError" },
    });
    expect(results["ironic-decision-matches-spec"]?.ok).toBe(false);
  });

  it("finds Ironic accepting iscsi_boot=false with external storage (it checks the capability's presence)", async () => {
    const input = example("bios-external-storage");
    input.node.iscsiBoot = "false";
    const results = await staticResults(input);
    expect(ironicOutcome(input, decisionOf(input))).toBe("boots-from-volume");
    expect(results["ironic-decision-matches-spec"]?.message).toMatch(
      /Ironic accepted a node the spec refuses \(.*iscsi_boot=false/,
    );
  });

  it("agrees with the spec when the capability is missing with Cinder storage (Ironic refuses)", async () => {
    const input = example("bios");
    input.node.iscsiBoot = undefined;
    const results = await staticResults(input);
    expect(decisionOf(input).refusal?.stage).toBe("storage.validate");
    expect(results["ironic-decision-matches-spec"]?.ok).toBe(true);
  });

  it("finds every portal given the first portal's IQN when each port has its own (target_iqns)", async () => {
    const input = bios((v) => {
      v.connection.portals.push({ host: "10.0.2.101", port: 3260, family: 4 });
      v.connection.listForm = true;
      v.connection.portalIqns = [v.connection.targetIqn, `${v.connection.targetIqn}-port1`];
    });
    const results = await staticResults(input);
    expect(results["ipxe-script-matches-cinder"]?.message).toMatch(
      /portal 10\.0\.2\.101:3260 leads to iqn\.2010-10\.org\.openstack:volume-6f1e0c2a-port1 \(target_iqns\); Ironic wrote 'iscsi:10\.0\.2\.101::3260:1:iqn\.2010-10\.org\.openstack:volume-6f1e0c2a'/,
    );
  });

  it("finds mutual CHAP dropped: Ironic's template has no reverse credentials", async () => {
    const input = bios((v) => {
      v.connection.chap = { username: "u", password: "0123456789ab", reverse: { username: "t", password: "ba9876543210" } };
    });
    const results = await staticResults(input);
    expect(results["ipxe-script-matches-cinder"]?.message).toMatch(/mutual CHAP: Ironic's script sets no reverse-username/);
  });

  it("an exception in the worker itself (a malformed request) is a WorkerError, not Ironic's answer", async () => {
    const worker = workerFor(ironicWorkerSpec());
    const error = await worker.request("decide", { node: {} }, z.unknown()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WorkerError);
    expect((error as Error).message).toMatch(/KeyError/);
    const unknown = await worker.request("nonsense", {}, z.unknown()).catch((e: unknown) => e);
    expect((unknown as Error).message).toMatch(/unknown method 'nonsense'/);
    // The worker survives both and still answers.
    expect((await ironicDecide(ironicRequest(example("bios")))).refusal).toBeUndefined();
  });
});
