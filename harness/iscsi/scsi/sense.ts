// SCSI status codes and fixed-format sense data (SPC-4 §4.5.3).

export const Status = {
  Good: 0x00,
  CheckCondition: 0x02,
  ConditionMet: 0x04,
  Busy: 0x08,
  ReservationConflict: 0x18,
  TaskSetFull: 0x28,
  TaskAborted: 0x40,
} as const;

export const SenseKey = {
  NoSense: 0x0,
  NotReady: 0x2,
  MediumError: 0x3,
  HardwareError: 0x4,
  IllegalRequest: 0x5,
  UnitAttention: 0x6,
  DataProtect: 0x7,
  AbortedCommand: 0xb,
  Miscompare: 0xe,
} as const;

/** Additional sense code and qualifier as one 16-bit value (ASC << 8 | ASCQ). */
export const Asc = {
  NoAdditional: 0x0000,
  WriteError: 0x0c00,
  UnrecoveredReadError: 0x1100,
  ParameterListLengthError: 0x1a00,
  MiscompareDuringVerify: 0x1d00,
  InvalidOpcode: 0x2000,
  LbaOutOfRange: 0x2100,
  InvalidFieldInCdb: 0x2400,
  LunNotSupported: 0x2500,
  InvalidFieldInParameterList: 0x2600,
  WriteProtected: 0x2700,
  ResetOccurred: 0x2900,
  SavingParametersNotSupported: 0x3900,
  MediumRemovalPrevented: 0x5302,
  InternalTargetFailure: 0x4400,
  DataPhaseError: 0x4b00,
} as const;

export interface SenseInfo {
  key: number;
  asc: number;
  /** INFORMATION field (e.g. the miscompare offset), when valid. */
  information?: number;
  /** Sense-key-specific field pointer for INVALID FIELD errors: byte and optional bit in the CDB (cd=true) or parameter list. */
  fieldPointer?: { cd: boolean; byte: number; bit?: number };
}

export function fixedSense(info: SenseInfo): Buffer {
  const s = Buffer.alloc(18);
  s[0] = 0x70;
  s[2] = info.key & 0x0f;
  if (info.information !== undefined) {
    s[0] = 0xf0; // VALID
    s.writeUInt32BE(info.information >>> 0, 3);
  }
  s[7] = 10;
  s[12] = info.asc >> 8;
  s[13] = info.asc & 0xff;
  if (info.fieldPointer) {
    const fp = info.fieldPointer;
    s[15] = 0x80 | (fp.cd ? 0x40 : 0) | (fp.bit !== undefined ? 0x08 | (fp.bit & 7) : 0);
    s.writeUInt16BE(fp.byte, 16);
  }
  return s;
}

/** Descriptor-format sense (SPC-4 §4.5.2) for REQUEST SENSE with DESC=1. */
export function descriptorSense(info: SenseInfo): Buffer {
  const s = Buffer.alloc(8);
  s[0] = 0x72;
  s[1] = info.key & 0x0f;
  s[2] = info.asc >> 8;
  s[3] = info.asc & 0xff;
  return s;
}

export interface ScsiResult {
  status: number;
  /** Data-In payload (may be shorter than the allocation length). */
  data?: Buffer;
  sense?: Buffer;
}

export const good = (data?: Buffer): ScsiResult => (data ? { status: Status.Good, data } : { status: Status.Good });

export const checkCondition = (key: number, asc: number, extra?: Omit<SenseInfo, "key" | "asc">): ScsiResult => ({
  status: Status.CheckCondition,
  sense: fixedSense({ key, asc, ...extra }),
});

export const illegalRequest = (asc: number = Asc.InvalidFieldInCdb, byte?: number, bit?: number): ScsiResult =>
  checkCondition(
    SenseKey.IllegalRequest,
    asc,
    byte === undefined ? {} : { fieldPointer: { cd: true, byte, ...(bit === undefined ? {} : { bit }) } },
  );

export const lbaOutOfRange = (): ScsiResult => checkCondition(SenseKey.IllegalRequest, Asc.LbaOutOfRange);
export const writeProtected = (): ScsiResult => checkCondition(SenseKey.DataProtect, Asc.WriteProtected);
