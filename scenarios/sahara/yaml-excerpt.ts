// The lines of a YAML text (as PyYAML's safe_dump writes it: block style, two-space indent,
// sequences not indented under their key) that lead to one key path and hold its value:
// Sahara's own text of the part of a template a finding is about. Pure.

const indentOf = (line: string) => line.length - line.trimStart().length;

/** The key a `key: value` or `key:` line opens, without quotes. */
function keyOf(line: string): string | undefined {
  const match = /^\s*(?:'([^']*)'|"([^"]*)"|([^\s'"][^:]*?)):(?:\s|$)/.exec(line);
  return match ? (match[1] ?? match[2] ?? match[3]) : undefined;
}

/**
 * The header line of every key of `path` and the whole block of the last one, or undefined
 * when the text has no such path (the excerpt then cannot quote Sahara).
 */
export function yamlExcerpt(text: string, path: readonly string[]): string | undefined {
  const lines = text.split("\n");
  const out: string[] = [];
  let from = 0;
  let to = lines.length;
  let indent = 0;
  for (const [depth, key] of path.entries()) {
    let found = -1;
    for (let i = from; i < to; i++) {
      const line = lines[i]!;
      if (line.trim() === "" || indentOf(line) !== indent || line.trimStart().startsWith("- ")) continue;
      if (keyOf(line) === key) {
        found = i;
        break;
      }
    }
    if (found === -1) return undefined;
    // The block of this key: every following line indented deeper, or an indentless sequence item.
    let end = found + 1;
    while (end < to) {
      const line = lines[end]!;
      if (line.trim() !== "" && indentOf(line) <= indent && !(indentOf(line) === indent && line.trimStart().startsWith("- ")))
        break;
      end++;
    }
    if (depth === path.length - 1) {
      out.push(...lines.slice(found, end));
      break;
    }
    out.push(lines[found]!);
    from = found + 1;
    to = end;
    indent += 2;
  }
  while (out.length > 0 && out.at(-1)!.trim() === "") out.pop();
  return out.join("\n");
}
