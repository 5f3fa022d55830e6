import type { DomainEvent } from '../events/catalogue.js';
import { evolve, liveChildren, type AgentContext } from './agentContext.js';
import { failureEvents } from './agentDecisions.js';
import { timeoutReason } from './timeoutReason.js';

/**
 * What starts new work (a child, a model call, a tool, a plan) or ends an agent in success:
 * none of it is recorded once the agent's deadline has passed.
 */
const STARTS_WORK: ReadonlySet<string> = new Set<DomainEvent['type']>([
  'ChildSpawned',
  'BudgetDelegated',
  'ModelRequested',
  'BudgetReserved',
  'ToolCalled',
  'ApprovalGranted',
  'WorkflowPlanned',
  'AgentCompleted',
]);

/** Whether the agent's deadline is `now` or earlier. */
export const deadlinePassed = (c: AgentContext, now: Date): boolean => c.deadline !== null && Date.parse(c.deadline) <= now.getTime();

/**
 * A decision as it may be recorded at `now`, or null when it may be recorded as it is.
 *
 * The deadline timer fires late when the event loop is busy (145–234 ms after a 1 ms deadline on
 * the embedded store, a new user's try), and until it does the agent went on deciding: a workflow
 * spawned two nodes past its deadline, and a child whose deadline passed during its model call
 * completed with the reply. So every decision is checked against the deadline too: it keeps what
 * it records of work already done (a reply, with its usage; a child's end) up to the first event
 * that would start something, and the agent times out there instead — it fails at once when no
 * child is live, otherwise the timer's round ends its children first (terminations.ts). A cut
 * completion's output becomes the failure's partial output.
 *
 * @example
 * withinDeadline(ctx, [modelReplied, ...completionEvents(ctx, 'done')], now, null)
 * // past the deadline: [modelReplied, AgentTimedOut, ..., AgentFailed (timeout)]
 */
export function withinDeadline(c: AgentContext, events: readonly DomainEvent[], now: Date, defaultTimeoutMs: number | null): DomainEvent[] | null {
  let at = c;
  for (const [i, e] of events.entries()) {
    if (STARTS_WORK.has(e.type) && deadlinePassed(at, now)) {
      const timedOut: DomainEvent[] = at.timedOut ? [] : [{ type: 'AgentTimedOut', data: { deadline: at.deadline! } }];
      // A completion cut here keeps its output as the failure's partial output: the work was done.
      const output = e.type === 'AgentCompleted' ? e.data.output : at.lastText;
      const after: AgentContext = { ...at, timedOut: true, lastText: output };
      const ending = liveChildren(at).length === 0 ? failureEvents(after, 'timeout', timeoutReason(at.timeoutMs, defaultTimeoutMs)) : [];
      return [...events.slice(0, i), ...timedOut, ...ending];
    }
    at = evolve(at, e);
  }
  return null;
}
