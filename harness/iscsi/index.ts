// Public surface of the built-in iSCSI target.
export type { BackendSpec, BlockBackend } from "./backends/types.js";
export type { IscsiEvent } from "./connection.js";
export type { FaultAction, FaultPlan, FaultRule, PduFacts } from "./faults.js";
export type { ChapCredentials, TargetLimits } from "./login.js";
export { LoginStatus } from "./login.js";
export type { IscsiTargetHandle, IscsiTargetOptions, LunOptions, PortalOptions, TargetOptions } from "./target.js";
export { startIscsiTarget } from "./target.js";
