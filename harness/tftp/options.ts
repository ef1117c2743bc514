// Option negotiation for a read request (RFC 2347 OACK; 2348 blksize; 2349 timeout and
// tsize; 7440 windowsize). Pure: the request's options and the file size in, the settings
// the transfer uses and the OACK to send (or nothing, if no known option was asked) out.
import { ErrorCode } from "./packets.js";
import { TftpRefusal } from "./paths.js";

export interface NegotiationLimits {
  /** Largest block size granted (RFC 2348 allows 8..65464). */
  maxBlksize: number;
  /** Largest window granted (RFC 7440 allows 1..65535). */
  maxWindowsize: number;
  /** Retransmission timeout when the client does not ask for one. */
  defaultTimeoutMs: number;
}

export interface TransferSettings {
  blksize: number;
  windowsize: number;
  timeoutMs: number;
  /** Options to acknowledge, in the order the client sent them; undefined → no OACK. */
  oack: Map<string, string> | undefined;
}

const DECIMAL = /^[0-9]{1,10}$/;

export function negotiate(requested: Map<string, string>, fileSize: number, limits: NegotiationLimits): TransferSettings {
  const settings: TransferSettings = { blksize: 512, windowsize: 1, timeoutMs: limits.defaultTimeoutMs, oack: undefined };
  const oack = new Map<string, string>();
  for (const [name, raw] of requested) {
    const value = DECIMAL.test(raw) ? Number(raw) : Number.NaN;
    switch (name) {
      case "blksize":
        if (Number.isNaN(value) || value < 8) {
          throw new TftpRefusal(ErrorCode.OPTION_REFUSED, `blksize '${raw}' is invalid: use 8..65464`);
        }
        settings.blksize = Math.min(value, limits.maxBlksize);
        oack.set(name, String(settings.blksize));
        break;
      case "windowsize":
        if (Number.isNaN(value) || value < 1 || value > 65535) {
          throw new TftpRefusal(ErrorCode.OPTION_REFUSED, `windowsize '${raw}' is invalid: use 1..65535`);
        }
        settings.windowsize = Math.min(value, limits.maxWindowsize);
        oack.set(name, String(settings.windowsize));
        break;
      case "timeout":
        // RFC 2349: 1..255 seconds; a server may ignore an option it does not accept.
        if (!Number.isNaN(value) && value >= 1 && value <= 255) {
          settings.timeoutMs = value * 1000;
          oack.set(name, String(value));
        }
        break;
      case "tsize":
        // In a read request the client sends 0 and the server answers with the size.
        oack.set(name, String(fileSize));
        break;
      default:
        // Unknown options are ignored (RFC 2347), so they are simply not acknowledged.
        break;
    }
  }
  settings.oack = oack.size > 0 ? oack : undefined;
  return settings;
}
