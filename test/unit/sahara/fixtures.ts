// Recorded answers of real Sahara and real Nova for the sahara-bfv examples, and what their
// guests saw (test/fixtures/sahara/<example>.json, written from real runs: the stack Sahara
// sent, Nova's answer to the request Heat would send, the booted guest's observation). The
// chain between them (Heat, Cinder, the request) is bootproof's pure code and runs here again.
import { readFileSync } from "node:fs";
import type { Observation } from "../../../firmware/observation.js";
import type { NovaServerAnswer } from "../../../harness/openstack/nova-server.js";
import type { SaharaStackTemplate, SaharaTemplateAnswer } from "../../../harness/openstack/sahara.js";
import type { DomainBootRecord } from "../../../harness/scenario.js";
import type { SaharaBfvCase } from "../../../scenarios/sahara/case.js";
import { decideBeforeNova, type SaharaBfvRecord, setRecordForTest } from "../../../scenarios/sahara/driver.js";

export interface SaharaFixture {
  name: string;
  input: SaharaBfvCase;
  sahara: SaharaTemplateAnswer;
  nova: NovaServerAnswer | null;
  observation: Observation | null;
}

export type FixtureName =
  | "bfv-seabios-pc"
  | "bfv-ovmf-q35-two-volumes"
  | "image-backed-seabios-pc"
  | "expected-failure-flavor-root-disk-0"
  | "expected-failure-boot-volume-local-to-instance";

/** A fresh copy of a fixture: tests may change it. */
export function fixture(name: FixtureName): SaharaFixture {
  return JSON.parse(readFileSync(new URL(`../../fixtures/sahara/${name}.json`, import.meta.url), "utf8")) as SaharaFixture;
}

export function stackOf(f: SaharaFixture): SaharaStackTemplate {
  if (f.sahara.outcome !== "template") throw new Error(`fixture ${f.name}: Sahara refused`);
  return f.sahara;
}

/**
 * The record the properties read for `input`, from a fixture's answers: the chain is decided
 * for `input` (which may differ from the fixture's own: a deliberately wrong input), Sahara's
 * and Nova's answers are the fixture's.
 */
export function recordFor(
  input: SaharaBfvCase,
  from: SaharaFixture,
  change: (record: SaharaBfvRecord) => void = () => {},
): SaharaBfvRecord {
  const { record } = decideBeforeNova(input, from.sahara);
  record.nova = from.nova;
  change(record);
  setRecordForTest(input, record);
  return record;
}

/** The instance's boot as the boot properties see it, with the guest's observation. */
export function bootsWith(observation: Observation | null, failure?: string): Record<string, DomainBootRecord> {
  return {
    instance: {
      name: "instance",
      observation,
      ...(failure ? { failure } : {}),
      firmwareLog: [],
      endpoints: {},
      serviceLog: [],
    } as unknown as DomainBootRecord,
  };
}
