// Public surface of the HTTP server (iPXE's HTTP boot: the run loop and `bootproof serve http`).

export {
  type HttpFaultAction,
  HttpFaultActionSchema,
  type HttpFaultPlan,
  type HttpFaultPlanInput,
  HttpFaultPlanSchema,
  type HttpFaultRule,
  parseHttpFaultPlan,
} from "./faults.js";
export {
  type HttpEvent,
  type HttpLogger,
  type HttpServer,
  type HttpServerOptions,
  type HttpServerStats,
  startHttpServer,
} from "./server.js";
