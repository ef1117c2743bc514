// Shard summaries → the summary of the whole run. Shard s of n holds the cases at positions
// s-1, s-1+n, ... of the unsharded run (run-scenario.ts ownsCase) and shard 1 the
// counterexamples, so interleaving the shards' cases gives the unsharded run's cases in order.
import { join } from "node:path";
import { combineVerdicts, InputError } from "../errors.js";
import type { CaseResult } from "./run-case.js";
import type { RunSummary } from "./run-scenario.js";

const isCounterexampleCase = (c: CaseResult) => c.caseId.startsWith("static-counterexample");

/**
 * Merges the summaries of shards 1..n of one run. Refuses summaries of different runs
 * (scenario, mode, seed), a missing or repeated shard, or an unsharded summary.
 */
export function mergeShardSummaries(summaries: Array<{ source: string; summary: RunSummary }>, artifactsDir: string): RunSummary {
  if (summaries.length === 0) throw new InputError("merge-reports needs at least one shard directory");
  const first = summaries[0]!.summary;
  const count = first.shard?.count;
  for (const { source, summary } of summaries) {
    if (!summary.shard)
      throw new InputError(
        `${source} is not a shard's summary (it has no "shard"): pass the directories of \`run --shard i/n\` runs`,
      );
    const same =
      summary.scenario === first.scenario &&
      summary.mode === first.mode &&
      summary.seed === first.seed &&
      summary.shard.count === count;
    if (!same)
      throw new InputError(
        `${source} is shard ${summary.shard.index}/${summary.shard.count} of ${summary.scenario} (${summary.mode}${summary.seed !== undefined ? `, seed ${summary.seed}` : ""}); ` +
          `the first is of ${first.scenario} (${first.mode}${first.seed !== undefined ? `, seed ${first.seed}` : ""}, ${count} shards): merge shards of one run`,
      );
  }
  const byIndex = new Map<number, RunSummary>();
  for (const { source, summary } of summaries) {
    if (byIndex.has(summary.shard!.index))
      throw new InputError(`shard ${summary.shard!.index}/${count} is given twice (again in ${source})`);
    byIndex.set(summary.shard!.index, summary);
  }
  const missing = Array.from({ length: count! }, (_, i) => i + 1).filter((i) => !byIndex.has(i));
  if (missing.length)
    throw new InputError(`shard(s) ${missing.join(", ")} of ${count} are missing: merge every shard of the run`);

  const shards = Array.from({ length: count! }, (_, i) => byIndex.get(i + 1)!);
  const caseDirs: Record<string, string> = {};
  for (const { summary } of summaries) for (const c of summary.cases) caseDirs[c.caseId] = join(summary.artifactsDir, c.caseId);
  const counterexampleCases = shards[0]!.cases.filter(isCounterexampleCase);
  const queues = shards.map((s) => s.cases.filter((c) => !isCounterexampleCase(c)));
  const cases: CaseResult[] = [...counterexampleCases];
  for (let position = 0; queues.some((q) => q.length > 0); position++) {
    const next = queues[position % count!]!.shift();
    if (!next) break; // shards own positions in turn: the first empty queue ends the run
    cases.push(next);
  }
  const lead = shards[0]!;
  return {
    scenario: first.scenario,
    mode: first.mode,
    ...(first.seed !== undefined ? { seed: first.seed } : {}),
    verdict: combineVerdicts(cases.map((c) => c.verdict)),
    cases,
    ...(lead.counterexample ? { counterexample: lead.counterexample } : {}),
    ...(lead.counterexamples ? { counterexamples: lead.counterexamples } : {}),
    ...(lead.staticSweep ? { staticSweep: lead.staticSweep } : {}),
    durationMs: Math.max(...shards.map((s) => s.durationMs)),
    artifactsDir,
    caseDirs,
  };
}
