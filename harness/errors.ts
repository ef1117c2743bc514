// Error taxonomy (after LAVA): who failed? The product under test ("fail", decided by
// properties), or the harness / host / input ("infra-error"), or nobody knows yet because
// the deadline passed ("timeout"). Exceptions thrown inside bootproof are infra errors;
// InputError marks the subset the user can fix by editing their scenario or command.

export type Verdict = "pass" | "fail" | "infra-error" | "timeout";

export class InfraError extends Error {
  constructor(
    message: string,
    readonly detail: { commandLine?: string; consoleTail?: string[]; cause?: unknown } = {},
  ) {
    super(message);
    this.name = "InfraError";
  }
}

/** Bad input: a malformed scenario, a missing image, an unknown device. Names the fix. */
export class InputError extends InfraError {
  constructor(message: string) {
    super(message);
    this.name = "InputError";
  }
}

export function describeError(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}

/** Exit status of `bootproof run`: 0 all passed, 1 a property failed, 2 infra-error or timeout. */
export function exitCodeFor(verdicts: readonly Verdict[]): number {
  if (verdicts.some((v) => v === "infra-error" || v === "timeout")) return 2;
  if (verdicts.some((v) => v === "fail")) return 1;
  return 0;
}

/** Worst verdict wins: infra-error > timeout > fail > pass. */
export function combineVerdicts(verdicts: readonly Verdict[]): Verdict {
  for (const v of ["infra-error", "timeout", "fail"] as const) if (verdicts.includes(v)) return v;
  return "pass";
}
