/**
 * The known name closest to a misspelt one, for a "did you mean …?" hint: the fewest single
 * character edits (insert, delete, substitute, swap two neighbours), case ignored, and only when
 * close enough to be a typo (at most a third of the name's length, at least 1, at most 3 edits).
 * Ties go to the name listed first. Pure: no I/O.
 *
 * @example
 * nearestName('BudgetSetled', ['BudgetReserved', 'BudgetSettled']) // 'BudgetSettled'
 * nearestName('tdd-workflw', ['tdd-workflow', 'backend-dev-workflow']) // 'tdd-workflow'
 * nearestName('xyz', ['tdd-workflow']) // undefined
 */
export function nearestName(typed: string, known: Iterable<string>): string | undefined {
  const limit = Math.min(3, Math.max(1, Math.floor(typed.length / 3)));
  let best: string | undefined;
  let bestDistance = limit + 1;
  for (const name of known) {
    const d = editDistance(typed.toLowerCase(), name.toLowerCase());
    if (d < bestDistance) {
      best = name;
      bestDistance = d;
    }
  }
  return best;
}

/** Optimal string alignment distance: Levenshtein plus the swap of two adjacent characters. */
export function editDistance(a: string, b: string): number {
  // rows[i][j] = distance between a[0..i) and b[0..j)
  const rows: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(rows[i - 1]![j]! + 1, rows[i]![j - 1]! + 1, rows[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, rows[i - 2]![j - 2]! + 1);
      rows[i]![j] = d;
    }
  }
  return rows[a.length]![b.length]!;
}
