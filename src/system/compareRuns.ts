import { readAgentTree } from '../dashboard/readAgentTree.js';
import type { AgentSystem } from '../system.js';

/** One run's facts, for `cadre diff`: its tree's outcome, spending and duration. */
export interface RunFacts {
  readonly id: string;
  readonly role: string;
  readonly status: string;
  readonly output: string | null;
  /** Tokens the whole tree consumed (each agent's own, summed). */
  readonly tokens: number;
  readonly costUsd: number;
  /** From the root's spawn to its last event, in ms. */
  readonly durationMs: number;
  /** The fork's origin, when the run is a fork. */
  readonly forkedFrom: { readonly sourceId: string; readonly sourceRevision: number; readonly spentBefore: number } | null;
}

/** What `runFacts` reads: the tree (read models, folding what they cannot say yet) and the root's history. */
export type RunReader = Pick<AgentSystem, 'internal' | 'reports' | 'store' | 'history'>;

/**
 * The facts of the run rooted at `rootId`: its tree's totals as `cadre tree` reads them, and its
 * duration and fork origin from the root's history.
 *
 * @example
 * const [a, b] = await Promise.all([runFacts(system, idA), runFacts(system, idB)]);
 */
export async function runFacts(reader: RunReader, rootId: string): Promise<RunFacts> {
  const [root, history] = await Promise.all([readAgentTree(reader, rootId), reader.history(rootId)]);
  const first = Date.parse(history[0]?.metadata.at ?? '');
  const last = Date.parse(history.at(-1)?.metadata.at ?? '');
  const spawned = history[0]?.type === 'AgentSpawned' ? history[0].data.forkedFrom : undefined;
  return {
    id: rootId,
    role: root.role,
    status: root.status,
    output: root.output ?? root.reason,
    tokens: root.subtreeConsumed,
    costUsd: root.subtreeCostUsd,
    durationMs: Number.isFinite(first) && Number.isFinite(last) ? last - first : 0,
    forkedFrom: spawned ? { sourceId: spawned.sourceId, sourceRevision: spawned.sourceRevision, spentBefore: spawned.spentBefore } : null,
  };
}
