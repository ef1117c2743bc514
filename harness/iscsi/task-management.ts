// Task Management Function requests (RFC 7143 §11.5): aborts reach the tasks of
// this connection; resets reach every session of the target, through every portal, and end
// SPC-2 reservations (persistent reservations survive resets, spc4r17 §5.7.1).
import type { Connection } from "./connection.js";
import { decodeLun, itt as ittOf, newBhs, Op, type Pdu } from "./pdu.js";
import { resetOccurred } from "./scsi/reservations.js";
import { Asc } from "./scsi/sense.js";

/** TMF response codes (RFC 7143 §11.6.1). */
const Response = {
  Complete: 0,
  TaskDoesNotExist: 1,
  LunDoesNotExist: 2,
  TaskReassignNotSupported: 4,
  NotSupported: 5,
  Rejected: 255,
} as const;

export function handleTaskMgmt(c: Connection, pdu: Pdu): void {
  const b = pdu.bhs;
  const fn = b[1]! & 0x7f;
  const lun = decodeLun(b);
  const s = c.session!;
  const target = s.target;
  let response: number = Response.Complete;
  let afterResponse: (() => void) | undefined;
  const lunExists = target?.lus.has(lun) ?? false;
  switch (fn) {
    case 1: {
      // ABORT TASK
      const ref = b.readUInt32BE(20);
      if (!c.scsi.abortTask(ref, lun)) {
        // RFC 7143 §11.5.1: a task we never saw but whose RefCmdSN is inside the window counts as done.
        const refCmdSN = b.readUInt32BE(32);
        const cmdSN = b.readUInt32BE(24);
        const inWindow = s.classify(refCmdSN) !== "outside" || (cmdSN - refCmdSN) >>> 0 < 0x80000000;
        response = inWindow && refCmdSN !== cmdSN ? Response.Complete : Response.TaskDoesNotExist;
      }
      break;
    }
    case 2: // ABORT TASK SET
    case 4: // CLEAR TASK SET
      if (!lunExists) response = Response.LunDoesNotExist;
      else c.abortTasks(lun);
      break;
    case 5: // LOGICAL UNIT RESET
      if (!lunExists || !target) response = Response.LunDoesNotExist;
      else {
        for (const other of c.host.sessionsOf(target)) {
          for (const conn of other.connections) conn.abortTasks(lun);
          other.nexus.unitAttention.set(lun, Asc.ResetOccurred);
        }
        const lu = target.lus.get(lun)!;
        lu.reservations = resetOccurred(lu.reservations);
      }
      break;
    case 6: // TARGET WARM RESET
    case 7: // TARGET COLD RESET
      if (!target) response = Response.Rejected;
      else {
        for (const other of c.host.sessionsOf(target)) {
          for (const conn of other.connections) conn.abortTasks(undefined);
          for (const l of target.lunList) other.nexus.unitAttention.set(l, Asc.ResetOccurred);
        }
        for (const lu of target.lus.values()) lu.reservations = resetOccurred(lu.reservations);
        if (fn === 7) {
          afterResponse = () => {
            for (const other of [...c.host.sessionsOf(target)])
              for (const conn of [...other.connections]) if (conn !== c) conn.destroy("target cold reset");
            c.endSoon("target cold reset");
          };
        }
      }
      break;
    case 3: // CLEAR ACA: no ACA support
      response = Response.NotSupported;
      break;
    case 8: // TASK REASSIGN needs ErrorRecoveryLevel 2
      response = Response.TaskReassignNotSupported;
      break;
    default:
      response = Response.Rejected;
  }
  const bhs = newBhs(Op.TaskMgmtResponse, 0x80);
  bhs[2] = response;
  bhs.writeUInt32BE(ittOf(b), 16);
  c.stamp(bhs, true);
  c.send(bhs);
  c.host.log({ type: "task-management", remote: c.remote, function: fn, response });
  afterResponse?.();
}
