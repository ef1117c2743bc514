// iSCSI TransportIDs (SPC-4 "TransportID for initiator ports using SCSI over iSCSI"): how PERSISTENT RESERVE IN READ FULL STATUS names a
// registered initiator port and how REGISTER AND MOVE names the one to move to. Only format
// 01b (initiator port: name, ",i,0x", ISID) identifies an I_T nexus; format 00b names a
// whole initiator device.

const ISCSI_PROTOCOL = 0x5;
const PORT_FORMAT = 0x1;
const SEPARATOR = ",i,0x";

/** The nexus name reservations use: the initiator port, lower-cased as iSCSI names compare. */
export function initiatorPortName(initiatorName: string, isidHex: string): string {
  return `${initiatorName.toLowerCase()}${SEPARATOR}${isidHex.toLowerCase()}`;
}

/** TransportID format 01b for an initiator port; the name is NUL-terminated and padded to 4. */
export function encodeTransportId(port: string): Buffer {
  const name = Buffer.from(`${port}\0`, "utf8");
  const padded = name.length + ((4 - (name.length % 4)) % 4);
  // SPC-4: the additional length is at least 20, so the whole TransportID is at least 24 bytes.
  const additional = Math.max(20, padded);
  const t = Buffer.alloc(4 + additional);
  t[0] = (PORT_FORMAT << 6) | ISCSI_PROTOCOL;
  t.writeUInt16BE(additional, 2);
  name.copy(t, 4);
  return t;
}

export type TransportIdResult = { port: string } | { error: string; byte: number; bit?: number };

/** Parses the TransportID at the start of `data`; byte offsets in errors are relative to it. */
export function decodeTransportId(data: Buffer): TransportIdResult {
  if (data.length < 24) return { error: "TransportID shorter than 24 bytes", byte: 0 };
  if ((data[0]! & 0x0f) !== ISCSI_PROTOCOL) return { error: "not an iSCSI TransportID", byte: 0, bit: 3 };
  if (data[0]! >> 6 !== PORT_FORMAT) return { error: "TransportID does not name an initiator port", byte: 0, bit: 7 };
  const additional = data.readUInt16BE(2);
  if (additional % 4 !== 0 || 4 + additional > data.length) return { error: "bad TransportID length", byte: 2 };
  const body = data.subarray(4, 4 + additional);
  const end = body.indexOf(0);
  if (end < 0) return { error: "TransportID name is not NUL-terminated", byte: 4 };
  const text = body.subarray(0, end).toString("utf8");
  const at = text.toLowerCase().lastIndexOf(SEPARATOR);
  const isid = at < 0 ? "" : text.slice(at + SEPARATOR.length);
  if (at <= 0 || !/^[0-9a-fA-F]{12}$/.test(isid)) return { error: "TransportID has no initiator port ISID", byte: 4 };
  return { port: initiatorPortName(text.slice(0, at), isid) };
}
