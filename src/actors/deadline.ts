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
  // Where it is cut, found without folding the decision (this runs on every command): of the
  // events a command records, only a start sets the deadline.
  let deadline = c.deadline;
  let cutAt = -1;
  for (const [i, e] of events.entries()) {
    if (e.type === 'AgentStarted') deadline = e.data.deadline;
    if (STARTS_WORK.has(e.type) && deadline !== null && Date.parse(deadline) <= now.getTime()) {
      cutAt = i;
      break;
    }
  }
  if (cutAt < 0) return null;
  const kept = events.slice(0, cutAt);
  const at = kept.reduce((ctx, e) => evolve(ctx, e), c);
  const cut = events[cutAt]!;
  const timedOut: DomainEvent[] = at.timedOut ? [] : [{ type: 'AgentTimedOut', data: { deadline: at.deadline! } }];
  // A completion cut here keeps its output as the failure's partial output: the work was done.
  const output = cut.type === 'AgentCompleted' ? cut.data.output : at.lastText;
  const after: AgentContext = { ...at, timedOut: true, lastText: output };
  const ending = liveChildren(at).length === 0 ? failureEvents(after, 'timeout', timeoutReason(at.timeoutMs, defaultTimeoutMs)) : [];
  return [...kept, ...timedOut, ...ending];
}
