import type { AgentState } from '../actors/replay.js';
import type { HistoryEvent } from '../events/historyEvent.js';

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

/** What `compareRuns` reads: the system's state and history views. */
export interface RunReader {
  replay(agentId: string): Promise<AgentState>;
  history(agentId: string): Promise<HistoryEvent[]>;
}

/**
 * The facts of the run rooted at `rootId`, read from its streams (its tree walked through each
 * agent's recorded children).
 *
 * @example
 * const [a, b] = await Promise.all([runFacts(system, idA), runFacts(system, idB)]);
 */
export async function runFacts(reader: RunReader, rootId: string): Promise<RunFacts> {
  const root = await reader.replay(rootId);
  let tokens = 0;
  let costUsd = 0;
  for (const queue = [root]; queue.length > 0; ) {
    const s = queue.shift()!;
    tokens += s.budget.consumed;
    costUsd += s.costUsd;
    for (const c of s.children) queue.push(await reader.replay(c.id));
  }
  const history = await reader.history(rootId);
  const first = Date.parse(history[0]?.metadata.at ?? '');
  const last = Date.parse(history.at(-1)?.metadata.at ?? '');
  const spawned = history[0]?.type === 'AgentSpawned' ? history[0].data.forkedFrom : undefined;
  return {
    id: rootId,
    role: root.role,
    status: root.status,
    output: root.result?.output ?? root.result?.reason ?? null,
    tokens,
    costUsd,
    durationMs: Number.isFinite(first) && Number.isFinite(last) ? last - first : 0,
    forkedFrom: spawned ? { sourceId: spawned.sourceId, sourceRevision: spawned.sourceRevision, spentBefore: spawned.spentBefore } : null,
  };
}
