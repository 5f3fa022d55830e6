/**
 * A template's nodes as a line of stages: nodes at the same depth (the longest chain of
 * dependencies before them) run in parallel and share a stage.
 *
 * @example
 * templateStages([{ id: 'a', role: 'architect' }, { id: 'i', role: 'implementer', dependencies: ['a'] },
 *   { id: 't', role: 'tester', dependencies: ['a'] }, { id: 'r', role: 'reviewer', dependencies: ['i', 't'] }]);
 * // 'architect → (implementer | tester) → reviewer'
 */
export function templateStages(nodes: ReadonlyArray<{ readonly id: string; readonly role: string; readonly dependencies?: readonly string[] }>): string {
  const depth = new Map<string, number>(nodes.map((n) => [n.id, 0]));
  // Relax until nothing moves; a valid graph is acyclic, so at most nodes.length passes.
  for (let pass = 0; pass < nodes.length; pass++) {
    let moved = false;
    for (const n of nodes) {
      const d = Math.max(0, ...(n.dependencies ?? []).map((dep) => (depth.get(dep) ?? -1) + 1));
      if (d !== depth.get(n.id)) {
        depth.set(n.id, d);
        moved = true;
      }
    }
    if (!moved) break;
  }
  const stages: string[][] = [];
  for (const n of nodes) (stages[depth.get(n.id)!] ??= []).push(n.role);
  return stages.filter((s) => s.length > 0).map((s) => (s.length === 1 ? s[0]! : `(${s.join(' | ')})`)).join(' → ');
}
