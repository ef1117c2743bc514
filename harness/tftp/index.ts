// Public surface of the TFTP server (used by the run loop and `bootproof serve tftp`).

export { TftpClientError, type TftpGetOptions, type TftpGetResult, tftpExchange, tftpGet } from "./client.js";
export type { TftpFaultDecision, TftpFaultPlan, TftpPacketContext } from "./faults.js";
export { ErrorCode as TftpErrorCode } from "./packets.js";
export { startTftpServer, type TftpLogger, type TftpServer, type TftpServerOptions, type TftpServerStats } from "./server.js";
