// Fault rules for the NFS server, matched per RPC (free when there are none): delay, stall
// or drop the connection before a call is handled; answer an NFS procedure with a chosen
// error status; change the write verifier (as a server restart does, so clients resend).
import * as z from "zod/mini";
import "../../emulator/zod-english.js";
import { InputError } from "../errors.js";
import { NFS3_PROCEDURES, type Nfs3Fault, type Nfs3Procedure } from "./nfs3.js";
import { Nfs3Status } from "./status.js";
import type { TransportFault } from "./transport.js";

const procedure = z.enum([...NFS3_PROCEDURES, "*"]);
const ActionSchema = z.discriminatedUnion("kind", [
  z.strictObject({ kind: z.literal("delay"), ms: z.number().check(z.int(), z.gte(0), z.lte(600_000)) }),
  z.strictObject({ kind: z.literal("stall") }),
  z.strictObject({ kind: z.literal("drop-connection") }),
  z.strictObject({
    kind: z.literal("status"),
    status: z.enum(Object.keys(Nfs3Status).filter((k) => Number.isNaN(Number(k))) as [string, ...string[]]),
  }),
  z.strictObject({ kind: z.literal("new-verifier") }),
]);
const RuleSchema = z.strictObject({
  /** The NFSv3 procedure the rule applies to ("*": any NFS call). */
  procedure,
  /** The first matching call it acts on (1 = the first). */
  nth: z._default(z.number().check(z.int(), z.gte(1)), 1),
  /** How many matching calls from there (default 1). */
  times: z._default(z.number().check(z.int(), z.gte(1)), 1),
  action: ActionSchema,
});
export type NfsFaultRule = z.infer<typeof RuleSchema>;
export type NfsFaultRuleInput = z.input<typeof RuleSchema>;

export function parseNfsFaults(rules: unknown): NfsFaultRule[] {
  const parsed = z.array(RuleSchema).safeParse(rules ?? []);
  if (!parsed.success)
    throw new InputError(
      `NFS fault rules: ${parsed.error.issues.map((i) => `${i.path.join(".") || "(rules)"}: ${i.message}`).join("; ")}`,
    );
  return parsed.data;
}

/** Counts matching calls per rule and says what to do to the next one. */
export class NfsFaultInjector {
  private seen: number[];

  constructor(
    private readonly rules: NfsFaultRule[],
    private readonly onFault: (rule: number, procedure: string, action: string) => void = () => {},
  ) {
    this.seen = rules.map(() => 0);
  }

  get active(): boolean {
    return this.rules.length > 0;
  }

  private match(name: Nfs3Procedure, wanted: (a: NfsFaultRule["action"]) => boolean): NfsFaultRule["action"] | undefined {
    for (const [index, rule] of this.rules.entries()) {
      if (!wanted(rule.action) || (rule.procedure !== "*" && rule.procedure !== name)) continue;
      const n = ++this.seen[index]!;
      if (n >= rule.nth && n < rule.nth + rule.times) {
        this.onFault(index, name, rule.action.kind);
        return rule.action;
      }
    }
    return undefined;
  }

  transport(name: Nfs3Procedure): TransportFault | undefined {
    const action = this.match(name, (a) => a.kind === "delay" || a.kind === "stall" || a.kind === "drop-connection");
    return action as TransportFault | undefined;
  }

  nfs(name: Nfs3Procedure): Nfs3Fault | undefined {
    const action = this.match(name, (a) => a.kind === "status" || a.kind === "new-verifier");
    if (!action) return undefined;
    if (action.kind === "status") return { kind: "status", status: Nfs3Status[action.status as keyof typeof Nfs3Status] };
    return { kind: "new-verifier" };
  }
}
