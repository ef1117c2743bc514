// Every sahara-bfv property on the recorded real runs (they pass) and on a deliberately wrong
// input or answer that makes it fail, with the message it fails with. Pure: the recorded
// answers of real Sahara and Nova and the recorded guests (test/fixtures/sahara/).
import { describe, expect, it } from "vitest";
import type { Observation } from "../../../firmware/observation.js";
import type { DomainTopology, PropertyOutcome } from "../../../harness/scenario.js";
import { GiB, guestSerialOf, type SaharaBfvCase } from "../../../scenarios/sahara/case.js";
import type { SaharaBfvRecord } from "../../../scenarios/sahara/driver.js";
import { bootsFromVolume, dataVolumesFollow, imageIsRoot, saharaBootProperties } from "../../../scenarios/sahara/properties.js";
import {
  bootVolumeOf,
  cinderAndNovaBuildIt,
  dataVolumesOf,
  follows,
  heatParametersDeclared,
  heatPropertyConstraints,
  heatReferencesResolve,
  heatRequestsMatchSpec,
  saharaStaticProperties,
  saharaWritesTemplate,
} from "../../../scenarios/sahara/static-properties.js";
import { bootsWith, type FixtureName, fixture, recordFor } from "./fixtures.js";

const NO_TOPOLOGIES: Record<string, DomainTopology> = {};

/** The input, its record decided from fixture `from` (changed), and the failing static properties. */
function staticFailures(input: SaharaBfvCase, from: FixtureName, change?: (r: SaharaBfvRecord) => void) {
  recordFor(input, fixture(from), change);
  return saharaStaticProperties
    .map((p) => ({ name: p.name, ...p.check(input, NO_TOPOLOGIES) }))
    .filter((o) => !o.ok)
    .map((o) => o.name);
}

/** The input with its node group changed: a deliberately wrong input for the fixture's answers. */
const inputOf = (name: FixtureName, change: Partial<SaharaBfvCase["nodeGroup"]> = {}): SaharaBfvCase => {
  const { input } = fixture(name);
  return { ...input, nodeGroup: { ...input.nodeGroup, ...change } };
};

const message = (outcome: PropertyOutcome) => (outcome.ok ? "pass" : outcome.message);

describe("the static properties on real Sahara's recorded answers", () => {
  it.each<FixtureName>(["bfv-seabios-pc", "bfv-ovmf-q35-two-volumes", "image-backed-seabios-pc"])(
    "%s passes every static property",
    (name) => {
      expect(staticFailures(fixture(name).input, name)).toEqual([]);
    },
  );

  it("flavor root disk 0: only S1, Heat's size constraint", () => {
    const input = fixture("expected-failure-flavor-root-disk-0").input;
    expect(staticFailures(input, "expected-failure-flavor-root-disk-0")).toEqual(["S1-heat-property-constraints"]);
    expect(message(heatPropertyConstraints.check(input, NO_TOPOLOGIES))).toMatch(
      /^Heat refuses the stack: Property error: resources\.bootable_volume\.properties\.size: 0 is out of range \(min: 1, max: None\) \[in 'file:\/\/worker\.yaml', nested stacks: 1\]\n {2}Sahara wrote \('file:\/\/worker\.yaml'\):\n {4}resources:\n {6}bootable_volume:\n {8}properties:\n {10}size: 0\n/,
    );
  });

  it("boot_volume_local_to_instance: only S2, the undeclared parameter (and the cycle it would close)", () => {
    const input = fixture("expected-failure-boot-volume-local-to-instance").input;
    expect(staticFailures(input, "expected-failure-boot-volume-local-to-instance")).toEqual(["S2-heat-parameters-declared"]);
    expect(message(heatParametersDeclared.check(input, NO_TOPOLOGIES))).toMatch(
      /^Heat refuses the stack: The Parameter \(instance\) was not provided\..*\n.*a circular dependency/,
    );
  });
});

describe("each static property fails on a deliberately wrong input or answer", () => {
  it("S0: Sahara raising is its refusal", () => {
    const input = inputOf("bfv-seabios-pc");
    recordFor(input, fixture("bfv-seabios-pc"), (r) => {
      r.sahara = {
        outcome: "refused",
        error: { type: "sahara.exceptions.NotFoundException", message: "no flavor", where: "x.py:1 in f" },
        flavorLookups: [],
      };
      r.heat = null;
      r.nova = null;
    });
    expect(message(saharaWritesTemplate.check(input, NO_TOPOLOGIES))).toBe(
      "Sahara raised sahara.exceptions.NotFoundException: no flavor (x.py:1 in f)",
    );
  });

  it("S3: a reference to a resource the template lacks", () => {
    const from = fixture("bfv-seabios-pc");
    const stack = from.sahara as Extract<typeof from.sahara, { outcome: "template" }>;
    const resources = stack.files["file://worker.yaml"]!.parsed.resources as Record<
      string,
      { properties: Record<string, unknown> }
    >;
    resources["worker-wc-waiter"]!.properties.handle = { get_resource: "no-such-handle" };
    const input = from.input;
    recordFor(input, from);
    expect(message(heatReferencesResolve.check(input, NO_TOPOLOGIES))).toMatch(
      /^Heat refuses the stack: The specified reference "no-such-handle" \(in worker-wc-waiter\.properties\.handle\) is incorrect\./,
    );
  });

  it("S4: the node group asks for what Sahara's stack does not give", () => {
    const check = (input: SaharaBfvCase) => {
      recordFor(input, fixture("bfv-seabios-pc"));
      return message(heatRequestsMatchSpec.check(input, NO_TOPOLOGIES));
    };
    expect(check(inputOf("bfv-seabios-pc"))).toBe("pass");
    expect(check(inputOf("bfv-seabios-pc", { volumesPerNode: 2 }))).toBe(
      "resources.worker.resources[0].resources.inst: Heat would attach 1 data volume to the instance; volumes_per_node 2 of 1 GiB asks for 2",
    );
    expect(check(inputOf("bfv-seabios-pc", { bootVolumeType: "ssd" }))).toMatch(
      /^resources\.worker\.resources\[0\]\.resources\.inst: the boot volume resources\.worker\.resources\[0\]\.resources\.bootable_volume: Heat asks Cinder for volume_type null, the node group asks for "ssd"$/,
    );
    expect(check(inputOf("bfv-seabios-pc", { bootFromVolume: false }))).toMatch(
      /image-backed: Heat would create the server with imageRef ''/,
    );
    expect(check(inputOf("bfv-seabios-pc", { count: 2 }))).toBe("Heat would create 1 servers; the node group has count 2");
    expect(check(inputOf("bfv-seabios-pc", { flavor: { ...inputOf("bfv-seabios-pc").nodeGroup.flavor, diskGb: 3 } }))).toMatch(
      /Heat asks Cinder for size \(GiB\) 2, the node group asks for 3$/,
    );
  });

  it("S5: Nova refusing, a root that is not the boot volume, or an image-backed disk beside it", () => {
    const input = inputOf("bfv-seabios-pc");
    const check = (change: (r: SaharaBfvRecord) => void) => {
      recordFor(input, fixture("bfv-seabios-pc"), change);
      return message(cinderAndNovaBuildIt.check(input, NO_TOPOLOGIES));
    };
    expect(check(() => {})).toBe("pass");
    expect(
      check((r) => {
        r.nova = {
          outcome: "refused",
          stage: "api",
          error: { type: "nova.exception.InvalidBDM", message: "bad" },
          cinderCalls: [],
        };
      }),
    ).toBe("Nova refused the server create Heat would send (api): nova.exception.InvalidBDM: bad");
    const imageBacked = fixture("image-backed-seabios-pc").nova;
    expect(
      check((r) => {
        r.nova = imageBacked;
      }),
    ).toBe("the root vda is the root-image disk, not the boot volume 1d2882fa-2956-55e7-a5c5-839f6b470c45");
    expect(
      check((r) => {
        if (r.nova?.outcome !== "built") return;
        r.nova.disks.push({ ...r.nova.disks[0]!, dev: "vdz", role: "root-image", root: false, source: "/var/lib/nova/disk" });
      }),
    ).toBe("Nova's domain also has an image-backed local disk vdz (/var/lib/nova/disk)");
    expect(
      check((r) => {
        if (r.nova?.outcome !== "built") return;
        r.nova.disks[0]!.dev = "vdb";
      }),
    ).toBe("Nova put the root on vdb (volume); the spec maps it as vda");
  });
});

/** A recorded guest's observation with its block devices changed. */
function observationOf(name: FixtureName, change: (o: Observation) => void = () => {}): Observation {
  const observation = fixture(name).observation!;
  change(observation);
  return observation;
}

describe("the boot properties on the recorded guests", () => {
  it.each<FixtureName>(["bfv-seabios-pc", "bfv-ovmf-q35-two-volumes", "image-backed-seabios-pc"])(
    "%s: every boot property passes",
    (name) => {
      const { input } = fixture(name);
      recordFor(input, fixture(name));
      const boots = bootsWith(observationOf(name));
      expect(saharaBootProperties.map((p) => [p.name, message(p.check(input, boots))])).toEqual(
        saharaBootProperties.map((p) => [p.name, "pass"]),
      );
    },
  );

  it("the recorded guest saw the boot volume's 20-byte serial prefix on vda at the flavor's size", () => {
    const f = fixture("bfv-ovmf-q35-two-volumes");
    const record = recordFor(f.input, f);
    const vda = f.observation!.blockDevices.find((d) => d.name === "vda")!;
    expect(vda.serial).toBe(guestSerialOf(bootVolumeOf(record)!.id));
    expect(vda.serial).toHaveLength(20);
    expect(vda.sizeBytes).toBe(3 * GiB);
    expect(dataVolumesOf(record).map((v) => guestSerialOf(v.id))).toEqual(
      f.observation!.blockDevices.filter((d) => d.name !== "vda").map((d) => d.serial),
    );
  });
});

describe("each boot property fails on a deliberately wrong input or guest", () => {
  const bfvInput = () => {
    const { input } = fixture("bfv-seabios-pc");
    recordFor(input, fixture("bfv-seabios-pc"));
    return input;
  };

  it("P1: the guest booted the image, saw another size, another disk on vda, or an extra local disk", () => {
    const input = bfvInput();
    const check = (observation: Observation) => message(bootsFromVolume.check(input, bootsWith(observation)));
    expect(check(observationOf("image-backed-seabios-pc"))).toBe(
      "the guest booted 'image' (the image itself), not the boot volume 1d2882fa-2956-55e7-a5c5-839f6b470c45 ('volume-1d2882fa')",
    );
    expect(
      check(
        observationOf("bfv-seabios-pc", (o) => {
          o.blockDevices[0]!.sizeBytes = GiB;
        }),
      ),
    ).toBe("the guest sees the boot volume as 1 GiB; the flavor's root disk is 2 GiB");
    expect(
      check(
        observationOf("bfv-seabios-pc", (o) => {
          o.blockDevices[0]!.name = "vdb";
          o.blockDevices[1]!.name = "vda";
        }),
      ),
    ).toMatch(/^the guest sees the boot volume on vdb, not vda/);
    expect(
      check(
        observationOf("bfv-seabios-pc", (o) => {
          o.blockDevices.push({ ...o.blockDevices[0]!, name: "vdc", serial: null, sizeBytes: 2 * GiB });
        }),
      ),
    ).toBe("the guest sees local disk vdc (no serial, 2 GiB); the flavor gives none, and the image must not be one");
    // A deliberately wrong input: the node group asks for a bigger root disk than the guest got.
    const bigger = { ...input, nodeGroup: { ...input.nodeGroup, flavor: { ...input.nodeGroup.flavor, diskGb: 3 } } };
    recordFor(bigger, fixture("bfv-seabios-pc"));
    expect(message(bootsFromVolume.check(bigger, bootsWith(observationOf("bfv-seabios-pc"))))).toBe(
      "the guest sees the boot volume as 2 GiB; the flavor's root disk is 3 GiB",
    );
    expect(message(bootsFromVolume.check(input, bootsWith(null, "SeaBIOS: No bootable device")))).toBe(
      "the instance boot never reached the probe: SeaBIOS: No bootable device",
    );
  });

  it("P2: a data volume missing, of another size, or before the root", () => {
    const input = bfvInput();
    const check = (observation: Observation) => message(dataVolumesFollow.check(input, bootsWith(observation)));
    expect(check(observationOf("bfv-seabios-pc", (o) => o.blockDevices.splice(1, 1)))).toMatch(
      /^the guest sees no disk with data volume .* serial/,
    );
    expect(
      check(
        observationOf("bfv-seabios-pc", (o) => {
          o.blockDevices[1]!.sizeBytes = 2 * GiB;
        }),
      ),
    ).toMatch(/as 2 GiB; volumes_size is 1 GiB$/);
    expect(
      check(
        observationOf("bfv-seabios-pc", (o) => {
          o.blockDevices[0]!.name = "vdb";
          o.blockDevices[1]!.name = "vda";
        }),
      ),
    ).toMatch(/on vda, before the root vdb$/);
    const more = { ...input, nodeGroup: { ...input.nodeGroup, volumesPerNode: 2 } };
    recordFor(more, fixture("bfv-seabios-pc"));
    expect(message(dataVolumesFollow.check(more, bootsWith(observationOf("bfv-seabios-pc"))))).toBe(
      "Heat attaches 1 data volumes; the node group asks for 2",
    );
  });

  it("P3: without boot from volume, a guest that booted a volume, or a volume on vda", () => {
    const { input } = fixture("image-backed-seabios-pc");
    recordFor(input, fixture("image-backed-seabios-pc"));
    const check = (observation: Observation) => message(imageIsRoot.check(input, bootsWith(observation)));
    expect(
      check(
        observationOf("image-backed-seabios-pc", (o) => {
          o.role = "volume-1d2882fa";
        }),
      ),
    ).toBe("the guest booted 'volume-1d2882fa', not the image ('image')");
    expect(
      check(
        observationOf("image-backed-seabios-pc", (o) => {
          const data = o.blockDevices.find((d) => d.serial)!;
          o.blockDevices[0]!.serial = data.serial;
        }),
      ),
    ).toMatch(/^the guest's vda is a volume \(vda \(serial .*\), not the image-backed local disk$/);
    // A deliberately wrong input: boot_from_volume asked, yet the guest is the image-backed one.
    const bfv = { ...input, nodeGroup: { ...input.nodeGroup, bootFromVolume: true } };
    recordFor(bfv, fixture("image-backed-seabios-pc"));
    expect(message(bootsFromVolume.check(bfv, bootsWith(observationOf("image-backed-seabios-pc"))))).toBe(
      "Heat created no volume from the image for the instance to boot from",
    );
  });

  it("device order: vda < vdb < vdz < vdaa", () => {
    expect([follows("vdb", "vda"), follows("vda", "vdb"), follows("vdaa", "vdz"), follows("vda", "vda")]).toEqual([
      true,
      false,
      true,
      false,
    ]);
  });
});
