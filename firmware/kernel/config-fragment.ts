// Kconfig fragments and .config files as data: the probe kernel's fragment
// (firmware/kernel/probe.config) is forced onto `make allnoconfig`, and Kconfig silently drops
// any line whose dependencies are off. checkConfig() finds those lines afterwards, so a
// fragment that asks for a driver the kernel will not build fails by name.

/** "y", "m", "n" (also from `# CONFIG_X is not set`), or a string/number value as written. */
export type KconfigValue = string;

export interface KconfigLine {
  /** The symbol with its CONFIG_ prefix. */
  symbol: string;
  value: KconfigValue;
  /** 1-based line number in the text. */
  line: number;
}

const ASSIGNMENT = /^(CONFIG_[A-Za-z0-9_]+)=(.*)$/;
const NOT_SET = /^# (CONFIG_[A-Za-z0-9_]+) is not set$/;

/**
 * Parses a fragment or a .config. Comments and blank lines are skipped; anything else is an
 * error naming the line, so a typo in the fragment cannot be mistaken for a comment.
 */
export function parseKconfig(text: string, source: string): KconfigLine[] {
  const lines: KconfigLine[] = [];
  const seen = new Map<string, number>();
  text.split("\n").forEach((raw, index) => {
    const line = raw.trim();
    const number = index + 1;
    const assignment = ASSIGNMENT.exec(line);
    const notSet = NOT_SET.exec(line);
    const symbol = assignment?.[1] ?? notSet?.[1];
    if (symbol === undefined) {
      if (line === "" || line.startsWith("#")) return;
      throw new Error(`${source}:${number}: '${line}' is neither CONFIG_NAME=value, '# CONFIG_NAME is not set' nor a comment`);
    }
    const earlier = seen.get(symbol);
    if (earlier !== undefined) throw new Error(`${source}:${number}: ${symbol} is already set on line ${earlier}`);
    seen.set(symbol, number);
    lines.push({ symbol, value: assignment ? assignment[2]! : "n", line: number });
  });
  return lines;
}

export interface ConfigMismatch {
  symbol: string;
  wanted: KconfigValue;
  /** What the resolved .config has ("n" when the symbol is absent or not set). */
  got: KconfigValue;
  line: number;
}

/** Every fragment line the resolved configuration does not honour. */
export function checkConfig(fragment: readonly KconfigLine[], resolved: readonly KconfigLine[]): ConfigMismatch[] {
  const have = new Map(resolved.map((l) => [l.symbol, l.value]));
  return fragment
    .map((l) => ({ symbol: l.symbol, wanted: l.value, got: have.get(l.symbol) ?? "n", line: l.line }))
    .filter((m) => m.wanted !== m.got);
}

export function describeMismatches(mismatches: readonly ConfigMismatch[], fragmentPath: string): string {
  return mismatches
    .map(
      (m) =>
        `${fragmentPath}:${m.line}: ${m.symbol} wanted ${m.wanted}, Kconfig made it ${m.got} (a dependency is off: add it to the fragment)`,
    )
    .join("\n");
}
