import type { ParsedEvent } from '../../events/upcast.js';

/**
 * Agent events the agents row only counts (last revision, position, event count): the per-event
 * reducer (agents.ts) and the batch fold (agentBatchFold.ts) share the list.
 */
const RECORD_ONLY = [
  'AgentTimedOut', 'AgentTerminating',
  'BudgetOverspent', // a record: the settling reply (or a BudgetSettled) already charged the real usage
  'ToolCalled', 'ToolReturned', 'MessageSent', 'MessageReceived', 'MessageAcked',
  'WorkspaceCommitted', 'WorkspaceMerged', 'WorkspaceMergeConflicted',
  'WorkflowPlanned', 'WorkflowPlanRejected', 'NodeStarted', 'NodeCompleted', 'NodeFailed', 'NodeSkipped',
] as const;

const recordOnly: ReadonlySet<string> = new Set(RECORD_ONLY);

/**
 * Whether the agents row only counts this event; narrows, so a switch over the rest stays exhaustive.
 *
 * @example
 * if (isRecordOnly(e)) return touch();
 */
export const isRecordOnly = (e: ParsedEvent): e is Extract<ParsedEvent, { type: (typeof RECORD_ONLY)[number] }> => recordOnly.has(e.type);
