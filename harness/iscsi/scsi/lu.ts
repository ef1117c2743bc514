// A logical unit as the SCSI handlers see it, and the per-I_T-nexus state they keep.
import type { BlockBackend } from "../backends/types.js";
import type { ReservationState } from "./reservations.js";

export const BLOCK_SIZE = 512;
/** Largest single transfer we accept (blocks); reported in the Block Limits VPD page. */
export const MAX_TRANSFER_BLOCKS = 32768; // 16 MiB
export const MAX_UNMAP_BLOCKS = 8192; // 4 MiB, zeroed synchronously
export const MAX_UNMAP_DESCRIPTORS = 64;
export const MAX_WRITE_SAME_BLOCKS = MAX_TRANSFER_BLOCKS;

export interface LogicalUnit {
  lun: number;
  backend: BlockBackend;
  blocks: number;
  readOnly: boolean;
  /** Unit serial number (VPD 0x80). */
  serial: string;
  /** 8-byte NAA identifier (VPD 0x83). */
  naa: Buffer;
  targetIqn: string;
  /** Nexuses that have PREVENT MEDIUM REMOVAL in force. */
  preventedBy: Set<object>;
  /** Serialises COMPARE AND WRITE and ORWRITE (read-modify-write) against each other. */
  atomicChain: Promise<unknown>;
  /** Persistent and SPC-2 reservations (replaced whole by each reservation command). */
  reservations: ReservationState;
}

/** State one initiator session keeps per target (the I_T nexus). */
export interface Nexus {
  /**
   * The I_T nexus's name: its initiator port, `<initiator name>,i,0x<ISID>` (./transport-id.ts).
   * Reservations are keyed by it, so a session that logs in again with the same ISID is the
   * same nexus to them.
   */
  id: string;
  /** LUN → pending unit attention ASC/ASCQ. */
  unitAttention: Map<number, number>;
}

/** What reservation commands need from the target beyond the addressed LU. */
export interface Fabric {
  /** Establish a unit attention on a LUN for a nexus (kept for it if it is not logged in). */
  unitAttention(nexus: string, lun: number, asc: number): void;
  /** Abort a nexus's tasks on a LUN, without responses (PREEMPT AND ABORT). */
  abortTasks(nexus: string, lun: number): void;
}

export interface ScsiContext {
  /** The addressed LU, or undefined when the LUN does not exist. */
  lu: LogicalUnit | undefined;
  lun: number;
  /** Every LUN of the target, ascending (REPORT LUNS). */
  luns: number[];
  nexus: Nexus;
  /** Absent in unit tests that exercise a single nexus. */
  fabric?: Fabric;
}
