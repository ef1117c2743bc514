// The SCSI data path of one connection (RFC 7143 §11.2-11.9): SCSI Command PDUs become
// tasks, write data arrives as immediate data, unsolicited Data-Out and Data-Out answering
// our R2Ts, the command runs (./scsi/dispatch.ts) and its data goes back as Data-In with the
// status in the last PDU, or in a SCSI Response.
import type { Connection } from "./connection.js";
import { decodeLun, encodeLun, finalBit, itt as ittOf, NO_TAG, newBhs, Op, type Pdu, RejectReason } from "./pdu.js";
import { dataOutLength, executeScsi, findCommand } from "./scsi/dispatch.js";
import type { ScsiContext } from "./scsi/lu.js";
import { Asc, checkCondition, illegalRequest, type ScsiResult, SenseKey, Status } from "./scsi/sense.js";

interface R2TState {
  offset: number;
  length: number;
  received: number;
  /** DataSN the next Data-Out of this burst must carry. */
  nextDataSN: number;
}

interface Task {
  itt: number;
  lun: number;
  cdb: Buffer;
  edtl: number;
  read: boolean;
  write: boolean;
  cmdSN: number;
  buffer: Buffer | undefined;
  received: number;
  unsolicitedDone: boolean;
  unsolicitedHigh: number;
  unsolicitedDataSN: number;
  nextR2TOffset: number;
  r2ts: Map<number, R2TState>;
  r2tsn: number;
  executing: boolean;
  aborted: boolean;
  /** Data-In PDUs sent (the SCSI Response's ExpDataSN). */
  dataInCount?: number;
}

const MAX_WRITE_EDTL = 32 << 20;

export class ScsiTasks {
  private readonly tasks = new Map<number, Task>();
  /** Tasks ended before their data arrived, whose late Data-Out is dropped quietly. */
  private readonly terminated = new Set<number>();

  constructor(private readonly conn: Connection) {}

  /** Aborts (no responses) the tasks of a LUN, or all when undefined. */
  abort(lun: number | undefined): void {
    for (const [tag, t] of this.tasks) {
      if (lun === undefined || t.lun === lun) {
        t.aborted = true;
        this.tasks.delete(tag);
      }
    }
  }

  /** ABORT TASK: true when the tagged task existed on that LUN and is now aborted. */
  abortTask(tag: number, lun: number): boolean {
    const task = this.tasks.get(tag);
    if (!task || task.lun !== lun) return false;
    task.aborted = true;
    this.tasks.delete(tag);
    return true;
  }

  command(pdu: Pdu, forced: ScsiResult | undefined): void {
    const c = this.conn;
    const b = pdu.bhs;
    const s = c.session!;
    const p = c.params!;
    if (!s.target) {
      c.reject(b, RejectReason.ProtocolError, "SCSI command in a discovery session");
      return;
    }
    const flags = b[1]!;
    const read = (flags & 0x40) !== 0;
    const write = (flags & 0x20) !== 0;
    const tag = ittOf(b);
    const edtl = b.readUInt32BE(20);
    if (this.tasks.has(tag)) {
      c.reject(b, RejectReason.TaskInProgress, `ITT 0x${tag.toString(16)} already in use`);
      return;
    }
    if (pdu.data.length > 0 && (!write || !p.immediateData || pdu.data.length > edtl || pdu.data.length > p.firstBurstLength)) {
      c.reject(b, RejectReason.ProtocolError, "immediate data not allowed here or longer than negotiated");
      return;
    }
    let cdb = b.subarray(32, 48);
    if (pdu.ahs.length >= 4 && pdu.ahs[2] === 1) {
      const ahsLen = pdu.ahs.readUInt16BE(0);
      const extra = pdu.ahs.subarray(4, Math.min(pdu.ahs.length, 3 + ahsLen));
      cdb = Buffer.concat([cdb, extra]);
    }
    const lun = decodeLun(b);
    const task: Task = {
      itt: tag,
      lun,
      cdb,
      edtl,
      read,
      write,
      cmdSN: b.readUInt32BE(24),
      buffer: undefined,
      received: 0,
      unsolicitedDone: (flags & 0x80) !== 0 || p.initialR2T,
      unsolicitedHigh: pdu.data.length,
      unsolicitedDataSN: 0,
      nextR2TOffset: 0,
      r2ts: new Map(),
      r2tsn: 0,
      executing: false,
      aborted: false,
    };
    this.tasks.set(tag, task);
    if (forced) {
      this.finish(task, forced);
      return;
    }
    const lu = s.target.lus.get(lun);
    if (write && edtl > 0 && lu && findCommand(cdb)) {
      if (edtl > MAX_WRITE_EDTL) {
        this.finish(task, illegalRequest(Asc.InvalidFieldInCdb));
        return;
      }
      if (pdu.data.length === edtl) task.buffer = pdu.data;
      else {
        task.buffer = Buffer.allocUnsafe(edtl);
        pdu.data.copy(task.buffer, 0);
      }
      task.received = pdu.data.length;
      if (task.received < edtl) {
        if (task.unsolicitedDone) {
          task.nextR2TOffset = task.received;
          this.issueR2Ts(task);
        }
        return;
      }
    }
    void this.execute(task);
  }

  dataOut(pdu: Pdu): void {
    const c = this.conn;
    const b = pdu.bhs;
    const tag = ittOf(b);
    const ttt = b.readUInt32BE(20);
    const task = this.tasks.get(tag);
    if (task === undefined || task.buffer === undefined || task.executing) {
      // Data for a command already answered (rejected early, or ended by a data error) is dropped quietly.
      if (ttt === NO_TAG || this.terminated.has(tag)) return;
      c.reject(b, RejectReason.InvalidPduField, `Data-Out for unknown task 0x${tag.toString(16)}`);
      return;
    }
    const offset = b.readUInt32BE(40);
    const len = pdu.data.length;
    if (offset + len > task.edtl) {
      c.reject(b, RejectReason.ProtocolError, "Data-Out beyond the expected transfer length");
      return;
    }
    const dataSN = b.readUInt32BE(36);
    if (ttt === NO_TAG) {
      // At ErrorRecoveryLevel 0 a lost or reordered Data-Out cannot be recovered: end the command.
      if (dataSN !== task.unsolicitedDataSN++) {
        this.failDataPhase(task, `Data-Out DataSN ${dataSN} out of order`);
        return;
      }
      if (task.unsolicitedDone && task.r2ts.size > 0) {
        c.reject(b, RejectReason.ProtocolError, "unsolicited Data-Out after its sequence ended");
        return;
      }
      pdu.data.copy(task.buffer, offset);
      task.received += len;
      task.unsolicitedHigh = Math.max(task.unsolicitedHigh, offset + len);
      if (finalBit(b) && !task.unsolicitedDone) {
        task.unsolicitedDone = true;
        task.nextR2TOffset = task.unsolicitedHigh;
      }
    } else {
      const r2t = task.r2ts.get(ttt);
      if (!r2t) {
        c.reject(b, RejectReason.InvalidPduField, `Data-Out with unknown Target Transfer Tag 0x${ttt.toString(16)}`);
        return;
      }
      if (offset < r2t.offset || offset + len > r2t.offset + r2t.length) {
        c.reject(b, RejectReason.ProtocolError, "Data-Out outside its R2T");
        return;
      }
      if (dataSN !== r2t.nextDataSN++) {
        this.failDataPhase(task, `Data-Out DataSN ${dataSN} out of order`);
        return;
      }
      pdu.data.copy(task.buffer, offset);
      task.received += len;
      r2t.received += len;
      if (finalBit(b) || r2t.received >= r2t.length) task.r2ts.delete(ttt);
    }
    if (task.received >= task.edtl && task.r2ts.size === 0) {
      void this.execute(task);
      return;
    }
    if (task.unsolicitedDone) this.issueR2Ts(task);
  }

  /** Ends a write whose Data-Out stream is broken: ABORTED COMMAND / DATA PHASE ERROR. */
  private failDataPhase(task: Task, why: string): void {
    const c = this.conn;
    c.host.log({ type: "reject", remote: c.remote, reason: RejectReason.ProtocolError, opcode: Op.DataOut, why });
    task.r2ts.clear();
    this.terminated.add(task.itt);
    if (this.terminated.size > 256) this.terminated.delete(this.terminated.values().next().value!);
    this.finish(task, checkCondition(SenseKey.AbortedCommand, Asc.DataPhaseError));
  }

  private issueR2Ts(task: Task): void {
    const c = this.conn;
    const p = c.params!;
    while (task.r2ts.size < p.maxOutstandingR2T && task.nextR2TOffset < task.edtl) {
      const offset = task.nextR2TOffset;
      const length = Math.min(p.maxBurstLength, task.edtl - offset);
      const ttt = c.allocTtt();
      task.r2ts.set(ttt, { offset, length, received: 0, nextDataSN: 0 });
      task.nextR2TOffset += length;
      const bhs = newBhs(Op.R2T, 0x80);
      encodeLun(task.lun, bhs, 8);
      bhs.writeUInt32BE(task.itt, 16);
      bhs.writeUInt32BE(ttt, 20);
      c.stamp(bhs, false);
      bhs.writeUInt32BE(task.r2tsn++, 36);
      bhs.writeUInt32BE(offset, 40);
      bhs.writeUInt32BE(length, 44);
      c.send(bhs);
    }
  }

  private async execute(task: Task): Promise<void> {
    task.executing = true;
    const s = this.conn.session!;
    const target = s.target!;
    const ctx: ScsiContext = {
      lu: target.lus.get(task.lun),
      lun: task.lun,
      luns: target.lunList,
      nexus: s.nexus,
      fabric: target.fabric,
    };
    let result: ScsiResult;
    try {
      result = await executeScsi(task.cdb, ctx, task.buffer);
    } catch {
      result = checkCondition(SenseKey.HardwareError, Asc.InternalTargetFailure);
    }
    this.finish(task, result);
  }

  private finish(task: Task, result: ScsiResult): void {
    if (task.aborted || this.conn.phase !== "full-feature") return;
    this.tasks.delete(task.itt);
    const edtl = task.edtl;
    const ok = result.status === Status.Good || result.status === Status.ConditionMet;
    let residual = 0;
    let resFlags = 0;
    if (ok && result.data) {
      const len = result.data.length;
      const sendable = task.read ? edtl : 0;
      if (len < sendable) {
        resFlags = 0x02;
        residual = sendable - len;
      } else if (len > sendable) {
        resFlags = 0x04;
        residual = len - sendable;
      }
      const n = Math.min(len, sendable);
      if (n > 0 && result.status === Status.Good) {
        this.sendDataIn(task, result.data.subarray(0, n), resFlags, residual);
        return;
      }
      if (n > 0) this.sendDataIn(task, result.data.subarray(0, n), -1, 0);
    } else if (task.write && ok) {
      const want = dataOutLength(task.cdb);
      if (want !== undefined && want !== edtl) {
        if (want < edtl) {
          resFlags = 0x02;
          residual = edtl - want;
        } else {
          resFlags = 0x04;
          residual = want - edtl;
        }
      }
    } else if (ok && task.read && edtl > 0) {
      resFlags = 0x02;
      residual = edtl;
    }
    this.sendResponse(task, result, resFlags, residual);
  }

  /** Data-In PDUs for a read; the last carries the status when `resFlags >= 0`. */
  private sendDataIn(task: Task, data: Buffer, resFlags: number, residual: number): void {
    const c = this.conn;
    const p = c.params!;
    const maxSeg = p.sendDataSegmentLength;
    const burst = p.maxBurstLength;
    let dataSN = 0;
    for (let off = 0; off < data.length; ) {
      const n = Math.min(maxSeg, data.length - off, burst - (off % burst));
      const last = off + n >= data.length;
      const endOfBurst = last || (off + n) % burst === 0;
      const bhs = newBhs(Op.DataIn, endOfBurst ? 0x80 : 0);
      bhs.writeUInt32BE(task.itt, 16);
      bhs.writeUInt32BE(NO_TAG, 20);
      if (last && resFlags >= 0) {
        bhs[1] = 0x80 | 0x01 | resFlags;
        bhs[3] = Status.Good;
        bhs.writeUInt32BE(residual, 44);
        c.stamp(bhs, true);
      } else c.stamp(bhs, false);
      bhs.writeUInt32BE(dataSN++, 36);
      bhs.writeUInt32BE(off, 40);
      c.send(bhs, data.subarray(off, off + n));
      off += n;
    }
    task.dataInCount = dataSN;
  }

  private sendResponse(task: Task, result: ScsiResult, resFlags: number, residual: number): void {
    const c = this.conn;
    const bhs = newBhs(Op.ScsiResponse, 0x80 | resFlags);
    bhs[2] = 0;
    bhs[3] = result.status;
    bhs.writeUInt32BE(task.itt, 16);
    c.stamp(bhs, true);
    bhs.writeUInt32BE(task.dataInCount ?? task.r2tsn, 36);
    bhs.writeUInt32BE(residual, 44);
    let data: Buffer | undefined;
    if (result.sense) {
      data = Buffer.allocUnsafe(2 + result.sense.length);
      data.writeUInt16BE(result.sense.length, 0);
      result.sense.copy(data, 2);
    }
    c.send(bhs, data);
  }
}
