// Fault injection for the HTTP server: one decision per request, before it is answered.
// A plan is data (JSON-able, validated with zod): a list of rules; the first rule whose
// match accepts the request (and still has uses left) decides what happens, like the iSCSI
// plan (harness/iscsi/faults.ts). Counters are server-wide, so "the 2nd GET of /boot.ipxe"
// means the 2nd one on any connection. With no plan the server never builds an injector
// and never calls in here, so faults cost nothing when off.
import * as z from "zod/mini";
import "../../emulator/zod-english.js";
import { formatZodPath } from "../../emulator/validate.js";
import { InputError } from "../errors.js";

const int = (min: number, max = Number.MAX_SAFE_INTEGER) =>
  z.number().check(z.int("must be a whole number"), z.gte(min), z.lte(max));

/**
 * `/boot.ipxe` (exact), or a glob: `*` and `?` stay within one path segment, `**` crosses
 * segments (`/images/**` is everything below /images). Matched against the request path
 * without its query, still percent-encoded as the client sent it.
 */
const PathPatternSchema = z
  .string()
  .check(z.refine((p) => p.startsWith("/"), "a path pattern starts with '/' (e.g. /boot.ipxe, /images/*, /**)"));

export const HttpFaultActionSchema = z.discriminatedUnion("kind", [
  /** Wait this long before answering, then answer normally. */
  z.strictObject({ kind: z.literal("delay"), ms: int(0, 600_000) }),
  /** Accept the request and never answer it (the connection's idle timeout is lifted too). */
  z.strictObject({ kind: z.literal("stall") }),
  /** Answer with this status and a short text body instead of the file. */
  z.strictObject({ kind: z.literal("status"), code: int(400, 599) }),
  /** Send the headers (full Content-Length) and `afterBytes` of the body, then close the connection. */
  z.strictObject({ kind: z.literal("drop"), afterBytes: int(0) }),
  /** Serve the file as if it were only `bytes` long: a complete, consistent, short response. */
  z.strictObject({ kind: z.literal("truncate"), bytes: int(0) }),
]);

export const HttpFaultRuleSchema = z
  .strictObject({
    match: z._default(
      z.strictObject({
        path: z.optional(PathPatternSchema),
        method: z.optional(z.enum(["GET", "HEAD"])),
      }),
      {},
    ),
    action: HttpFaultActionSchema,
    /** Fire only on the n-th matching request (1-based). Same as after: n-1, times: 1. */
    nth: z.optional(int(1)),
    /** Skip this many matching requests first (default 0). */
    after: z.optional(int(0)),
    /** Fire at most this many times (default: every match). */
    times: z.optional(int(1)),
  })
  .check(
    z.refine((rule) => rule.nth === undefined || (rule.after === undefined && rule.times === undefined), {
      message: "nth already means after: nth-1, times: 1; give either nth or after/times",
      path: ["nth"],
    }),
  );

export const HttpFaultPlanSchema = z.strictObject({ rules: z.array(HttpFaultRuleSchema) });

export type HttpFaultAction = z.infer<typeof HttpFaultActionSchema>;
export type HttpFaultRule = z.infer<typeof HttpFaultRuleSchema>;
export type HttpFaultPlan = z.infer<typeof HttpFaultPlanSchema>;
/** What a caller writes (defaults not yet applied). */
export type HttpFaultPlanInput = z.input<typeof HttpFaultPlanSchema>;

/** Validates a plan; every problem is named with its path (`rules[1].action.code`) at once. */
export function parseHttpFaultPlan(input: unknown): HttpFaultPlan {
  const parsed = HttpFaultPlanSchema.safeParse(input);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => `  - ${formatZodPath(issue.path) || "(plan)"}: ${issue.message}`);
  throw new InputError(`HTTP fault plan is invalid:\n${problems.join("\n")}`);
}

/** Glob → RegExp: `**` any characters, `*` any but '/', `?` one but '/'; the rest literal. */
export function pathPattern(glob: string): RegExp {
  let source = "";
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === "*" && glob[i + 1] === "*") {
      source += ".*";
      i++;
    } else if (c === "*") source += "[^/]*";
    else if (c === "?") source += "[^/]";
    else source += c.replace(/[.+^${}()|[\]\\]/g, "\\$&");
  }
  return new RegExp(`^${source}$`);
}

export interface HttpRequestFacts {
  method: string;
  /** Request path without the query, as sent. */
  path: string;
}

export interface HttpFaultDecision {
  action: HttpFaultAction;
  /** Index of the rule in the plan. */
  rule: number;
}

/** A validated plan plus its counters (shared by all connections of one server). */
export class HttpFaultInjector {
  private readonly patterns: Array<RegExp | undefined>;
  private readonly seen: number[];
  private readonly fired: number[];

  constructor(private readonly plan: HttpFaultPlan) {
    this.patterns = plan.rules.map((r) => (r.match.path === undefined ? undefined : pathPattern(r.match.path)));
    this.seen = plan.rules.map(() => 0);
    this.fired = plan.rules.map(() => 0);
  }

  decide(request: HttpRequestFacts): HttpFaultDecision | undefined {
    const rules = this.plan.rules;
    for (let i = 0; i < rules.length; i++) {
      const rule = rules[i]!;
      if (rule.match.method !== undefined && rule.match.method !== request.method) continue;
      if (this.patterns[i] && !this.patterns[i]!.test(request.path)) continue;
      const seen = ++this.seen[i]!;
      const after = rule.nth !== undefined ? rule.nth - 1 : (rule.after ?? 0);
      const times = rule.nth !== undefined ? 1 : rule.times;
      if (seen <= after) continue;
      if (times !== undefined && this.fired[i]! >= times) continue;
      this.fired[i]!++;
      return { action: rule.action, rule: i };
    }
    return undefined;
  }
}
