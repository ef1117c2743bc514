// A logical unit over memory for the SCSI layer's tests (executeScsi without a target).
import { createMemoryBackend } from "../../../harness/iscsi/backends/memory.js";
import type { LogicalUnit } from "../../../harness/iscsi/scsi/lu.js";
import { EMPTY_RESERVATIONS } from "../../../harness/iscsi/scsi/reservations.js";

export function memoryLu(blocks = 2048, readOnly = false): LogicalUnit {
  return {
    lun: 0,
    backend: createMemoryBackend(blocks * 512, readOnly),
    blocks,
    readOnly,
    serial: "SERIAL0001",
    naa: Buffer.from("3000000000000001", "hex"),
    targetIqn: "iqn.2024-01.org.bootproof:t",
    preventedBy: new Set(),
    atomicChain: Promise.resolve(),
    reservations: EMPTY_RESERVATIONS,
  };
}
