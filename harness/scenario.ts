// What a scenario is: data plus functions. A scenario turns an input (fixed examples or a
// fast-check arbitrary) into one or more boots, and properties relate the input, each
// boot's topology and what the guest observed. Nothing here knows about QEMU argv.
import type fc from "fast-check";
import type { Machine, MachineInput } from "../emulator/machine.js";
import type { MediaSpec } from "../firmware/media/spec.js";
import type { Observation } from "../firmware/observation.js";

/** One guest to boot: the machine plus what the harness must provide for it. */
export interface Topology {
  /**
   * The machine. Drives listed in `media` may leave `file` empty: the harness builds the
   * medium (content-addressed, cached) and fills the path in before validation.
   */
  machine: MachineInput;
  /** Boot media to build, keyed by drive id. */
  media?: Record<string, MediaSpec>;
  /**
   * Direct kernel boot: the harness supplies the guest kernel and the probe initramfs and
   * sets `bootproof.role=<role>` (plus `extraCmdline`) on the command line.
   */
  directBoot?: { role: string; extraCmdline?: string };
  /** Kernel modules the probe must load on top of those the machine's devices imply. */
  extraProbeModules?: string[];
  /** Wall-clock limit for this boot (default 120 s under TCG). */
  deadlineMs?: number;
}

/** A finished boot as properties see it. */
export interface BootRecord {
  name: string;
  topology: Topology;
  /** The validated machine that was booted (files resolved). */
  machine: Machine;
  /**
   * What the probe reported; null when the boot ended without an observation (firmware gave
   * up, a panic, or a medium too small for a kernel). `failure` then says why, and only the
   * firmware log can prove what happened.
   */
  observation: Observation | null;
  failure?: string;
  /** SeaBIOS debug-port lines when the machine asked for `firmwareLog`. */
  firmwareLog: string[];
  /** Where the boot's servers were, as the guest saw them. */
  endpoints: GuestEndpoints;
  /** What the servers saw (logins, refusals, injected faults), oldest first. */
  serviceLog: string[];
}

export interface PropertyOutcome {
  ok: boolean;
  /** Why it failed, in terms of the input and what the guest saw. */
  message?: string;
  /**
   * How deep the proof goes: "guest" (the probe saw it) or "firmware" (only the firmware's
   * own log could show it, e.g. a floppy too small to carry a kernel).
   */
  proofLevel?: "guest" | "firmware";
}

export interface Property<Input> {
  name: string;
  description: string;
  check(input: Input, boots: Record<string, BootRecord>): PropertyOutcome;
}

/** A check that needs no boot: runs over thousands of inputs before any guest starts. */
export interface StaticProperty<Input> {
  name: string;
  description: string;
  check(input: Input, topologies: Record<string, Topology>): PropertyOutcome;
}

/** How the guest reaches a service bootproof started for this boot (user-mode networking). */
export interface GuestEndpoint {
  host: string;
  port: number;
}

export interface GuestEndpoints {
  tftp?: GuestEndpoint;
  iscsi?: GuestEndpoint;
}

export interface IscsiLunPlan {
  lun: number;
  /** The LU's content: built like any boot medium; served through a copy-on-write overlay. */
  media: MediaSpec;
  readOnly?: boolean;
  serial?: string;
  /** 16 hex digits (NAA) for VPD page 0x83. */
  wwn?: string;
}

export interface IscsiTargetPlan {
  iqn: string;
  luns: IscsiLunPlan[];
  /** What the target demands; the initiator's side lives in the iPXE script. */
  chap?: { username: string; secret: string; mutual?: { username: string; secret: string } };
}

/**
 * Servers started fresh for one boot and stopped after it. The TFTP files are rendered once
 * every server is up, so scripts can name the real ports.
 */
export interface ServicesPlan {
  iscsi?: { targets: IscsiTargetPlan[]; faults?: unknown };
  tftp?: { files: (endpoints: GuestEndpoints) => Record<string, string | Buffer>; faults?: unknown };
}

export interface BootPlan {
  name: string;
  services?: ServicesPlan;
  /** The machine; a function when it must name service endpoints (e.g. a TFTP bootfile URL). */
  topology: Topology | ((endpoints: GuestEndpoints) => Topology);
}

/** Endpoints used where no service runs (static checks): port 0 marks "not started". */
export const PLACEHOLDER_ENDPOINTS: GuestEndpoints = {
  tftp: { host: "10.0.2.2", port: 0 },
  iscsi: { host: "10.0.2.2", port: 0 },
};

export function resolveTopology(plan: BootPlan, endpoints: GuestEndpoints = PLACEHOLDER_ENDPOINTS): Topology {
  return typeof plan.topology === "function" ? plan.topology(endpoints) : plan.topology;
}

export interface Scenario<Input> {
  name: string;
  description: string;
  /** Named fixed inputs; run in order when no arbitrary is given or `--examples` is set. */
  examples?: Array<{ name: string; input: Input }>;
  /** Generated inputs; the property runner draws from it with the run's seed. */
  arbitrary?: fc.Arbitrary<Input>;
  /** The boots one input needs, in order (e.g. normal, rescue, unrescue). */
  boots(input: Input): BootPlan[];
  properties: Array<Property<Input>>;
  staticProperties?: Array<StaticProperty<Input>>;
}

/** Identity helper that keeps the Input type inferred for scenario authors. */
export function defineScenario<Input>(scenario: Scenario<Input>): Scenario<Input> {
  return scenario;
}
