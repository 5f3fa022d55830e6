/** A node as the planned graph describes it; the graph is validated upstream, read leniently here. */
export interface PlannedNode {
  readonly id: string;
  readonly role: string | null;
  readonly budgetPercent: number | null;
  readonly dependencies: readonly string[];
}

/** The planned graph's nodes, read leniently: a node without an id is left out. */
export function plannedNodes(graph: unknown): PlannedNode[] {
  const nodes = (graph as { nodes?: unknown } | null)?.nodes;
  if (!Array.isArray(nodes)) return [];
  const out: PlannedNode[] = [];
  for (const n of nodes as unknown[]) {
    if (typeof n !== 'object' || n === null) continue;
    const r = n as Record<string, unknown>;
    if (typeof r.id !== 'string') continue;
    out.push({
      id: r.id,
      role: typeof r.role === 'string' ? r.role : null,
      budgetPercent: typeof r.budgetPercent === 'number' ? r.budgetPercent : null,
      dependencies: Array.isArray(r.dependencies) ? r.dependencies.filter((d): d is string => typeof d === 'string') : [],
    });
  }
  return out;
}
