import type { AgentSystem } from '../system.js';
import type { HistoryEvent } from '../events/historyEvent.js';
import { flatten, type AgentNode } from './agentTree.js';
import { readAgentTree } from './readAgentTree.js';
import { totalTokens } from '../actors/ports/modelProvider.js';

/** One model call's settlement: what it consumed and cost, when, by whom. */
export interface Settlement {
  readonly at: string;
  readonly agentId: string;
  readonly role: string;
  readonly model: string;
  readonly consumed: number;
  readonly costUsd: number;
}

export interface MoneyPoint {
  readonly at: string;
  /** Running totals over the subtree up to and including this settlement. */
  readonly tokens: number;
  readonly costUsd: number;
}

export interface SubtreeMoney {
  readonly rootId: string;
  /** `cadre budget --subtree`'s totals: tokens consumed and dollars by the root and every descendant. */
  readonly total: { readonly consumed: number; readonly costUsd: number; readonly agents: number };
  readonly series: readonly MoneyPoint[];
  /** As `cadre report`'s "tokens and cost by role" for this tree. */
  readonly byRole: ReadonlyArray<{ readonly role: string; readonly agents: number; readonly consumed: number; readonly costUsd: number }>;
  readonly byModel: ReadonlyArray<{ readonly model: string; readonly calls: number; readonly consumed: number; readonly costUsd: number }>;
}

/**
 * Totals, a running series and the split by role and by model, from a subtree's agents and
 * their settlements. Pure. Role rows count every agent of the subtree (spent or not) and sort
 * as `reports.costByRole` does: most tokens first, then by name.
 *
 * @example
 * const m = summariseMoney(root.id, flatten(root), settlements);
 * console.log(m.total.costUsd, m.byModel[0]?.model);
 */
export function summariseMoney(rootId: string, agents: readonly AgentNode[], settlements: readonly Settlement[]): SubtreeMoney {
  const roles = new Map<string, { role: string; agents: number; consumed: number; costUsd: number }>();
  for (const a of agents) {
    const r = roles.get(a.role) ?? { role: a.role, agents: 0, consumed: 0, costUsd: 0 };
    r.agents++;
    r.consumed += a.budget.consumed;
    r.costUsd += a.costUsd;
    roles.set(a.role, r);
  }
  const models = new Map<string, { model: string; calls: number; consumed: number; costUsd: number }>();
  const ordered = [...settlements].sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
  let tokens = 0;
  let costUsd = 0;
  const series = ordered.map((s) => {
    const m = models.get(s.model) ?? { model: s.model, calls: 0, consumed: 0, costUsd: 0 };
    m.calls++;
    m.consumed += s.consumed;
    m.costUsd += s.costUsd;
    models.set(s.model, m);
    tokens += s.consumed;
    costUsd += s.costUsd;
    return { at: s.at, tokens, costUsd };
  });
  const byTokens = <T extends { consumed: number }>(key: (x: T) => string) => (a: T, b: T) => b.consumed - a.consumed || (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0);
  return {
    rootId,
    total: { consumed: agents.reduce((s, a) => s + a.budget.consumed, 0), costUsd: agents.reduce((s, a) => s + a.costUsd, 0), agents: agents.length },
    series,
    byRole: [...roles.values()].sort(byTokens((r) => r.role)),
    byModel: [...models.values()].sort(byTokens((m) => m.model)),
  };
}

/** Every settled call: a settling ModelReplied (v2), or a BudgetSettled (after a v1 reply, and a workflow's planning calls). */
const settlementsOf = (agent: AgentNode, history: readonly HistoryEvent[]): Settlement[] =>
  history.flatMap((e) => {
    const of = { at: e.metadata.at, agentId: agent.id, role: agent.role };
    if (e.type === 'BudgetSettled') return [{ ...of, model: e.data.model, consumed: e.data.consumed, costUsd: e.data.costUsd }];
    if (e.type === 'ModelReplied' && e.data.settles) return [{ ...of, model: e.data.model, consumed: totalTokens(e.data.usage), costUsd: e.data.costUsd }];
    return [];
  });

/**
 * The money view of a subtree: its tree (as `cadre budget --subtree` reads it) and every
 * settlement in its agents' histories, a few streams at a time.
 *
 * @example
 * const m = await subtreeMoney(system, rootId);
 * console.log(`${m.total.consumed} tokens, $${m.total.costUsd.toFixed(4)}`);
 */
export async function subtreeMoney(system: Pick<AgentSystem, 'internal' | 'reports' | 'store' | 'history'>, rootId: string): Promise<SubtreeMoney> {
  const agents = flatten(await readAgentTree(system, rootId));
  const settlements: Settlement[] = [];
  for (let i = 0; i < agents.length; i += 16) {
    const batch = agents.slice(i, i + 16);
    const histories = await Promise.all(batch.map((a) => system.history(a.id)));
    batch.forEach((a, j) => settlements.push(...settlementsOf(a, histories[j]!)));
  }
  return summariseMoney(rootId, agents, settlements);
}
