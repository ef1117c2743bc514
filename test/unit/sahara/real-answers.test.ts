// The recorded answers the pure tests use are what real Sahara and real Nova answer today:
// each example's stack from the Sahara worker, and Nova's build of the request bootproof's
// Heat and Cinder make of it (the domain's disks; the XML carries a creation time). No guest.
// Skipped where python3-sahara or python3-nova is not installed.
import { existsSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { novaServerCreate } from "../../../harness/openstack/nova-server.js";
import { saharaTemplate } from "../../../harness/openstack/sahara.js";
import { stopAllWorkers } from "../../../harness/openstack/worker.js";
import { decideBeforeNova } from "../../../scenarios/sahara/driver.js";
import { saharaExamples } from "../../../scenarios/sahara/examples.js";
import { type FixtureName, fixture } from "./fixtures.js";

const installed =
  existsSync("/usr/lib/python3/dist-packages/sahara/service/heat/templates.py") &&
  existsSync("/usr/lib/python3/dist-packages/nova/__init__.py");

afterAll(() => stopAllWorkers());

describe.skipIf(!installed)("the recorded sahara-bfv answers are real Sahara's and real Nova's", () => {
  it.each(saharaExamples.map((e) => e.name as FixtureName))("%s", async (name) => {
    const recorded = fixture(name);
    expect(recorded.input).toEqual(saharaExamples.find((e) => e.name === name)?.input);
    const sahara = await saharaTemplate(recorded.input.nodeGroup);
    expect(sahara).toEqual(recorded.sahara);
    const { record } = decideBeforeNova(recorded.input, sahara);
    if (!record.request) {
      expect(recorded.nova).toBeNull();
      return;
    }
    const nova = await novaServerCreate(record.request);
    expect(nova.outcome).toBe(recorded.nova?.outcome);
    if (nova.outcome === "built" && recorded.nova?.outcome === "built") {
      expect(nova.disks).toEqual(recorded.nova.disks);
      expect(nova.bdms).toEqual(recorded.nova.bdms);
    }
  });
});
