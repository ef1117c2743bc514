export { type NfsFaultRuleInput, parseNfsFaults } from "./faults.js";
export { type NfsExportSpec, type NfsServer, type NfsServerOptions, startNfsServer } from "./server.js";
export { Nfs3Status } from "./status.js";
