import type { HistoryEvent } from '../../events/historyEvent.js';
import { spansOfAgent } from '../spansOfAgent.js';
import type { TraceSpan } from '../traceSpan.js';

/** The event types after which one of an agent's spans may have ended (spansOfAgent.ts closes spans on these). */
export const SPAN_ENDING_TYPES: ReadonlySet<string> = new Set(['ModelReplied', 'ModelFailed', 'ToolReturned', 'AgentCompleted', 'AgentFailed', 'AgentTerminated']);

/**
 * The spans of one agent that ended after global position `from` and at or before `to`: ended
 * as the history up to `to` tells, and not yet ended up to `from`. The live export sends each
 * batch of events' ended spans this way, so a span goes out once, when it ends, with what its
 * whole history says (its start, its attributes). Pure.
 *
 * @example
 * spansEndedBetween(history, 120, 180) // the model call replied at 150, the agent ended at 170
 */
export function spansEndedBetween(history: readonly HistoryEvent[], from: number, to: number): TraceSpan[] {
  const upTo = (p: number): HistoryEvent[] => history.filter((e) => e.position <= p);
  const endedBefore = new Set(spansOfAgent(upTo(from)).filter((s) => s.endMs !== undefined).map((s) => s.spanId));
  return spansOfAgent(upTo(to)).filter((s) => s.endMs !== undefined && !endedBefore.has(s.spanId));
}
