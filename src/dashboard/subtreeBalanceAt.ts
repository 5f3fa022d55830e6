import type { AgentSystem } from '../system.js';
import type { AgentState } from '../actors/replay.js';
import type { BudgetStatus } from '../actors/budget.js';
import { InvalidInput } from '../errors.js';
import type { HistoryEvent } from '../events/historyEvent.js';
import { sumBalance, type BalanceRow, type SubtreeBalance } from './subtreeBalance.js';

/** The agent as it was at a revision, with its subtree's balance at that moment. */
export interface PastAgent {
  readonly state: AgentState;
  readonly subtree: SubtreeBalance;
}

/** A grant recorded by the parent before the child's own stream had anything: all of it unspent. */
const untouched = (grant: number): BudgetStatus => ({ allocated: grant, consumed: 0, reserved: 0, delegated: 0, spentBySubtree: 0, reclaimed: 0, available: grant, overspent: 0 });

/**
 * Replays `agentId` to `toRevision` and every descendant to the same moment: the last of its
 * events at or before that revision's store position. The sum is `subtreeBalance`'s, so the
 * time-travel view and `cadre budget --subtree` agree, and the balance holds at every revision
 * (a child's grant is in its parent's `delegated` until the parent takes its remainder back).
 * Level by level, no recursion: trees can be thousands deep. At most `maxAgents` are read.
 *
 * @example
 * const { state, subtree } = await subtreeBalanceAt(system, lead.id, 12);
 * subtree.allocated + subtree.overspent === subtree.consumed + subtree.reserved + subtree.available; // true
 */
export async function subtreeBalanceAt(system: Pick<AgentSystem, 'history' | 'replay'>, agentId: string, toRevision: number, options: { maxAgents?: number; field?: string } = {}): Promise<PastAgent> {
  const max = options.maxAgents ?? 5_000;
  const history = await system.history(agentId);
  const at = history.find((e) => e.revision === toRevision);
  if (!at) throw new InvalidInput(options.field ?? 'toRevision', `must be between 0 and ${history[history.length - 1]?.revision ?? 0}`);
  const state = await system.replay(agentId, { toRevision });
  const rows: BalanceRow[] = [{ budget: state.budget, returned: null, costUsd: state.costUsd }];
  let level: Seen[] = [{ state, events: history.filter((e) => e.revision <= toRevision) }];
  while (level.length > 0 && rows.length < max) {
    // Only children whose grant has left the parent's ledger: between a ChildSpawned v1 or v2
    // and its BudgetDelegated the tokens are still the parent's `available`, and counted there.
    const kids = level.flatMap(({ state: s, events }) => {
      const granted = new Set(events.flatMap((e) => (e.type === 'BudgetDelegated' || (e.type === 'ChildSpawned' && e.data.delegatesBudget) ? [e.data.childId] : [])));
      return s.children.filter((c) => granted.has(c.id));
    }).slice(0, max - rows.length);
    const next = await Promise.all(kids.map(async (c): Promise<Seen | null> => {
      const events = (await system.history(c.id)).filter((e) => e.position <= at.position);
      const last = events[events.length - 1];
      if (!last) {
        rows.push({ budget: untouched(c.budget), returned: c.budgetReturned ? c.budget : null, costUsd: 0 });
        return null;
      }
      const s = await system.replay(c.id, { toRevision: last.revision });
      rows.push({ budget: s.budget, returned: c.budgetReturned ? s.budget.available : null, costUsd: s.costUsd });
      return { state: s, events };
    }));
    level = next.filter((s): s is Seen => s !== null);
  }
  return { state, subtree: sumBalance(state.budget.allocated, rows) };
}

/** An agent replayed to the moment, with the events that made it. */
interface Seen {
  readonly state: AgentState;
  readonly events: readonly HistoryEvent[];
}
