// A logical unit as the SCSI handlers see it, and the per-I_T-nexus state they keep.
import type { BlockBackend } from "../backends/types.js";

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
  /** Serialises COMPARE AND WRITE against itself. */
  atomicChain: Promise<unknown>;
}

/** State one initiator session keeps per target (the I_T nexus). */
export interface Nexus {
  /** LUN → pending unit attention ASC/ASCQ. */
  unitAttention: Map<number, number>;
}

export interface ScsiContext {
  /** The addressed LU, or undefined when the LUN does not exist. */
  lu: LogicalUnit | undefined;
  lun: number;
  /** Every LUN of the target, ascending (REPORT LUNS). */
  luns: number[];
  nexus: Nexus;
}
