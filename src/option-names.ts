/**
 * Unknown options: every options object is checked against its list of valid names, and a typo
 * is answered with the name it most likely meant (`hearbeatTimeoutMs` → `heartbeatTimeoutMs`).
 */

/** The keys of a `{ name: true }` table, typed `satisfies Record<keyof Options, true>` where it is written. */
export function optionNames(table: Record<string, true>): readonly string[] {
  return Object.freeze(Object.keys(table));
}

/**
 * The first own property of `input` whose name is not in `known`, with the message that names
 * the closest valid one; `undefined` when every name is known. Allocates nothing when all are.
 */
export function findUnknownOption(
  input: object,
  known: readonly string[],
): { name: string; message: string } | undefined {
  for (const name in input) {
    if (Object.hasOwn(input, name) && !known.includes(name)) {
      const closest = closestName(name, known);
      const message = closest
        ? `unknown option "${name}"; did you mean "${closest}"?`
        : `unknown option "${name}"; valid options: ${known.map((k) => `"${k}"`).join(', ')}`;
      return { name, message };
    }
  }
  return undefined;
}

/** Throws a `TypeError` for the first option of `input` whose name is not in `known`. */
export function checkOptionNames(input: object, known: readonly string[]): void {
  const unknown = findUnknownOption(input, known);
  if (unknown) throw new TypeError(unknown.message);
}

/**
 * The valid name a typo most likely meant: the nearest by edit distance (ignoring case) when
 * near enough, or one that contains the name or is contained in it (`algorithm` →
 * `selectionAlgorithm`).
 */
function closestName(name: string, known: readonly string[]): string | undefined {
  const wrong = name.toLowerCase();
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of known) {
    const right = candidate.toLowerCase();
    const distance = editDistance(wrong, right);
    const near =
      distance <= Math.max(2, Math.floor(right.length / 3)) ||
      (wrong.length >= 3 && (right.includes(wrong) || wrong.includes(right)));
    if (near && distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

/** Levenshtein distance (insertions, deletions, substitutions), one row at a time. */
function editDistance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (row[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1);
      next[j] = Math.min(substitution, (row[j] as number) + 1, (next[j - 1] as number) + 1);
    }
    row = next;
  }
  return row[b.length] as number;
}
