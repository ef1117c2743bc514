// What a scenario is: data plus functions. A scenario turns an input (fixed examples or a
// fast-check arbitrary) into one or more boots, and properties relate the input, each
// boot's topology and what the guest observed. Nothing here knows about QEMU argv.
import type fc from "fast-check";
import type { Machine, MachineInput } from "../emulator/machine.js";
import type { MediaSpec } from "../firmware/media/spec.js";
import type { Observation } from "../firmware/observation.js";
import type { DomainSummary } from "./libvirt/domain-xml.js";
import type { CaseVolume } from "./services/case-volumes.js";
import type { SanPathFault } from "./services/san-paths.js";

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
  /**
   * The guest kernel and this machine's probe initramfs are served to the guest (ServedFile
   * `bootPayload`), e.g. iPXE loading them from the conductor's HTTP server.
   */
  servesBootPayload?: boolean;
  /** Wall-clock limit for this boot (default 120 s under TCG). */
  deadlineMs?: number;
  /** End the boot early when the console proves it can never succeed (a retry loop without end). */
  giveUp?: GiveUpRule;
}

/**
 * A console line that, seen `count` times, proves the boot cannot succeed: the boot ends at
 * once with `reason` and the console tail instead of running into the deadline.
 */
export interface GiveUpRule {
  /** Text the console line contains. */
  line: string;
  count: number;
  reason: string;
}

/** A disk of a libvirt domain and the medium bootproof gives it. */
export interface DomainDiskMedium {
  /**
   * The disk's target dev (vda, sdb, hdc): its identity in every definition of the domain.
   * Not its position: libvirt sorts <disk> elements by bus and target when it defines a domain.
   */
  targetDev: string;
  media: MediaSpec;
  /** Writable disks get a per-boot copy-on-write overlay; read-only ones use the base. */
  writable: boolean;
  /**
   * The volume's size when it is larger than its medium: Cinder writes an image (or a
   * snapshot) onto a volume of the size asked for, and the guest sees that size. The
   * overlay gets it as its virtual size; the medium stays as built.
   */
  sizeMiB?: number;
}

/** Why a driver's domain never became a guest: the driver or libvirt refused it. */
export interface DomainRefusal {
  by: "driver" | "libvirt";
  type: string;
  message: string;
}

/**
 * A guest described as a libvirt domain that a real driver (Nova) wrote. libvirt assigns the
 * addresses and writes the QEMU command line; bootproof builds the media, points the domain
 * at its world and supervises the QEMU libvirt describes (harness/libvirt/boot.ts).
 */
export interface DomainTopology {
  kind: "libvirt-domain";
  /** The XML the driver produced, unchanged (an artifact). */
  driverXml: string;
  /** libvirt's dumpxml after `define` (every address it assigned), or null when refused. */
  definedXml: string | null;
  /** definedXml as data (null when refused). */
  defined: DomainSummary | null;
  refusal?: DomainRefusal;
  /** The medium of every <disk>. */
  media: DomainDiskMedium[];
  extraProbeModules?: string[];
  deadlineMs?: number;
  /** Capture SeaBIOS's debug port (a floppy boot is only provable there). */
  firmwareLog?: boolean;
}

export type AnyTopology = Topology | DomainTopology;

export function isDomainTopology(topology: AnyTopology): topology is DomainTopology {
  return (topology as DomainTopology).kind === "libvirt-domain";
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
  /** Where the boot's artifacts are (console log, command line, what the driver decided). */
  artifactDir?: string;
  /**
   * What each NFS export holds after the boot (export path → its top-level regular files,
   * as UTF-8, the first 64 KiB): proof that the guest's writes reached the server.
   */
  nfsExports?: Record<string, Record<string, string>>;
  /**
   * What the guest changed on each iSCSI LU ("<iqn> lun <n>" → the merged byte ranges written
   * or discarded, and their total): LUs it never wrote are absent.
   */
  lunChanges?: Record<string, { bytes: number; ranges: Array<[offset: number, length: number]> }>;
  /** The served boot media (ServedFile `media`), by served path: the built file and its size. */
  servedMedia?: Record<string, { path: string; bytes: number }>;
  /** What the plan's `inspect` found after the boot. */
  inspection?: Record<string, unknown>;
}

/** A finished boot of a libvirt domain. */
export interface DomainBootRecord {
  name: string;
  topology: DomainTopology;
  /** libvirt's dumpxml of the domain that ran (addresses as the guest got them). */
  domain: DomainSummary;
  observation: Observation | null;
  failure?: string;
  firmwareLog: string[];
  endpoints: GuestEndpoints;
  serviceLog: string[];
}

export type AnyBootRecord = BootRecord | DomainBootRecord;

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

export interface Property<Input, Boot extends AnyBootRecord = BootRecord> {
  name: string;
  description: string;
  check(input: Input, boots: Record<string, Boot>): PropertyOutcome;
}

/** A check that needs no boot: runs over thousands of inputs before any guest starts. */
export interface StaticProperty<Input, T extends AnyTopology = Topology> {
  name: string;
  description: string;
  check(input: Input, topologies: Record<string, T>): PropertyOutcome;
}

/** How the guest reaches a service bootproof started for this boot (user-mode networking). */
export interface GuestEndpoint {
  host: string;
  port: number;
}

export interface GuestEndpoints {
  tftp?: GuestEndpoint;
  iscsi?: GuestEndpoint;
  http?: GuestEndpoint;
  /** NFS, MOUNT and the port mapper share this port (harness/nfs). */
  nfs?: GuestEndpoint;
  /**
   * The iSCSI target's portals as QEMU's own initiator dials them from the host (127.0.0.1):
   * the SAN behind the machine's HBAs, one portal per target port. The guest never sees
   * these addresses, only the LUs on its HBAs.
   */
  sanPortals?: GuestEndpoint[];
}

export interface IscsiLunPlan {
  lun: number;
  /** The LU's content: built like any boot medium; served through a copy-on-write overlay. */
  media: MediaSpec;
  /**
   * Served read-write from this volume instead (`media` is then not built): its content lives
   * across the case's boots, e.g. a disk a deploy boot writes and the next boot reads.
   */
  volume?: CaseVolume;
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
  iscsi?: {
    targets: IscsiTargetPlan[];
    faults?: unknown;
    /** Listening portals (paths to every LU, one per target port); default 1. */
    portals?: number;
    /** Faults of single paths: a portal down, erroring or slow (harness/services/san-paths.ts). */
    pathFaults?: SanPathFault[];
  };
  tftp?: { files: (endpoints: GuestEndpoints) => Record<string, string | Buffer>; faults?: unknown };
  /** A read-only HTTP root (iPXE's HTTP boot); a `symlink` entry is a link relative to its directory. */
  http?: { files: (endpoints: GuestEndpoints) => Record<string, ServedFile>; faults?: unknown };
  /** NFSv3 exports, each a fresh directory with these files (a root file system, a marker). */
  nfs?: {
    exports: NfsExportPlan[];
    faults?: unknown;
    /** Where the guest reaches the server (a forward): what its port mapper answers. */
    advertised?: { host: string; port: number };
  };
}

export interface NfsExportPlan {
  /** The path clients mount (default /export, /export2, ...). */
  path?: string;
  files: Record<string, ServedFile>;
  readOnly?: boolean;
  /**
   * A read-only base tree (a root file system many cases share): the export starts as a
   * copy-on-write copy of it, plus `files`; the base is never written.
   */
  base?: string;
}

/**
 * A served file's content, a symlink relative to its directory, or the boot's own payload:
 * the guest kernel or the probe initramfs built for this machine (Topology.servesBootPayload).
 */
export type ServedFile =
  | string
  | Buffer
  | { symlink: string }
  | { bootPayload: "kernel" | "initramfs" }
  /** A boot medium built for this machine (its probe knows the machine's devices): an image to deploy. */
  | { media: MediaSpec };

export interface BootPlan {
  name: string;
  services?: ServicesPlan;
  /** The machine; a function when it must name service endpoints (e.g. a TFTP bootfile URL). */
  topology: AnyTopology | ((endpoints: GuestEndpoints) => AnyTopology);
  /**
   * Files written into the boot's artifact dir (what a real driver decided, already free of
   * secrets): they explain the boot to whoever reads a failure.
   */
  artifacts?: (endpoints: GuestEndpoints) => Record<string, string>;
  /**
   * Boot only when this says so, given the boots of this case that ran before: a driver that
   * retries starts its next attempt only after the earlier ones failed. Skipped: not-run.
   */
  runIf?: (earlier: Record<string, AnyBootRecord>) => boolean;
  /**
   * Work between boots that depends on what the earlier boots saw, run before `runIf` and
   * before the services start (a deploy agent choosing its disk from an inventory boot).
   * It throws only for an infrastructure failure.
   */
  before?: (earlier: Record<string, AnyBootRecord>) => Promise<void>;
  /**
   * Host-side evidence read once the guest and the boot's servers are gone (what a case
   * volume holds now); the result is the boot record's `inspection`.
   */
  inspect?: (record: BootRecord) => Promise<Record<string, unknown>>;
  /** Called once when the case ends, whatever happened: frees what its boots shared (case volumes). */
  release?: () => Promise<void> | void;
}

/** Endpoints used where no service runs (static checks): port 0 marks "not started". */
export const PLACEHOLDER_ENDPOINTS: GuestEndpoints = {
  tftp: { host: "10.0.2.2", port: 0 },
  iscsi: { host: "10.0.2.2", port: 0 },
  http: { host: "10.0.2.2", port: 0 },
};

export function resolveTopology(plan: BootPlan, endpoints: GuestEndpoints = PLACEHOLDER_ENDPOINTS): AnyTopology {
  return typeof plan.topology === "function" ? plan.topology(endpoints) : plan.topology;
}

/**
 * `Boot` and `T` say what the scenario's properties read: machine boots (the default) or
 * libvirt domain boots (a real Nova driver).
 */
export interface Scenario<Input, Boot extends AnyBootRecord = BootRecord, T extends AnyTopology = Topology> {
  name: string;
  description: string;
  /** Named fixed inputs; run in order when no arbitrary is given or `--examples` is set. */
  examples?: Array<{ name: string; input: Input }>;
  /** Generated inputs; the property runner draws from it with the run's seed. */
  arbitrary?: fc.Arbitrary<Input>;
  /**
   * The boots one input needs, in order (e.g. normal, rescue, unrescue). Asynchronous when a
   * real driver (a Python worker, libvirt) decides them.
   */
  boots(input: Input): BootPlan[] | Promise<BootPlan[]>;
  properties: Array<Property<Input, Boot>>;
  staticProperties?: Array<StaticProperty<Input, T>>;
  /**
   * Boot a case even when its static properties failed (they predict from the driver's
   * decision; the guests then show the same failure in their own terms). Cases whose
   * domains were refused still cannot boot.
   */
  bootDespiteStaticFailures?: boolean;
  /** Inputs the boot-free sweep checks before any guest starts (default 1000). */
  staticRuns?: number;
  /** Stops what the scenario started for a run (real-driver workers); called once at the end. */
  close?(): Promise<void>;
  /** Shown by `bootproof list`: which driver decides (e.g. "real Nova 26.2.2 + libvirt 9.0.0"). */
  driverLabel?: string;
}

/** Identity helper that keeps the Input type inferred for scenario authors. */
export function defineScenario<Input, Boot extends AnyBootRecord = BootRecord, T extends AnyTopology = Topology>(
  scenario: Scenario<Input, Boot, T>,
): Scenario<Input, Boot, T> {
  return scenario;
}

/** Any scenario, as the runner sees it. */
export type AnyScenario<Input> = Scenario<Input, AnyBootRecord, AnyTopology>;
