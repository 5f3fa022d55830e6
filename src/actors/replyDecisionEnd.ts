import type { DomainEvent } from '../events/catalogue.js';
import { evolve, initialContext, type AgentContext } from './agentContext.js';
import { afterReply } from './agentDecisions.js';
import type { StopReason } from './ports/modelProvider.js';
import { pureToolResult } from './toolRunner.js';

/**
 * The last revision of the decision a cut at `revision` falls in, when that is a model reply's:
 * the reply (which settles its call), and the tool calls, results or end decided with it are one append,
 * and a state with only part of them is one the agent never had (a reply whose tool calls are
 * not recorded waits for nothing). Found by deciding the reply again (afterReply, pure) on the
 * source's state before it and matching what was recorded; `revision` itself for any other cut.
 *
 * @example
 * replyDecisionEnd(events, 4) // 6: ModelReplied at 4, its two ToolCalled at 5 and 6
 */
export function replyDecisionEnd(events: readonly DomainEvent[], revision: number): number {
  let replied = -1;
  for (let r = revision; r >= 0 && replied < 0; r--) {
    const t = events[r]!.type;
    if (t === 'ModelReplied') replied = r;
    else if (!followsReply.has(t)) return revision;
  }
  const reply = events[replied];
  const opening = events[0];
  if (reply?.type !== 'ModelReplied' || opening?.type !== 'AgentSpawned') return revision;
  let c: AgentContext = initialContext(opening.data);
  for (const e of events.slice(1, replied)) c = evolve(c, e);
  const { callId, model, content, stopReason, usage, costUsd } = reply.data;
  const decided = afterReply(c, callId, { model, content, stopReason: stopReason as StopReason, usage }, costUsd, (name, input) => pureToolResult(name, input, undefined, c.outputSchema));
  const types = decided.map((e) => e.type as string);
  // A v1 reply was settled by a BudgetSettled right after it; a v2 reply settles itself.
  if (!reply.data.settles) types.splice(1, 0, 'BudgetSettled');
  const end = replied + types.length - 1;
  const recorded = events.slice(replied, end + 1).map((e) => e.type);
  // Decided otherwise than recorded (an older version's rules): left as asked.
  if (recorded.join() !== types.join()) return revision;
  return Math.max(revision, end);
}

/** What a reply's decision may record after it. */
const followsReply = new Set(['BudgetSettled', 'BudgetOverspent', 'BudgetReleased', 'ToolCalled', 'ToolReturned', 'AgentCompleted', 'AgentFailed']);
