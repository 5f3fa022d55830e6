import type { EventData } from '../events/catalogue.js';
import type { ParsedEvent } from '../events/upcast.js';
import { excerpt } from './projection.js';
import { totalTokens } from '../actors/ports/modelProvider.js';

const short = (s: string | null | undefined, max = 80): string => excerpt((s ?? '').replace(/\s+/g, ' ').trim(), max) ?? '';

/**
 * One line a person can read for each event. Pure; exhaustive over the catalogue. The activity
 * feed (activityFeed.ts) calls it on read, so changing a line changes it for old events too.
 *
 * @example
 * summarize(parseRecorded(recorded)) // 'reserved 60 tokens'
 */
export function summarize(e: ParsedEvent): string {
  switch (e.type) {
    case 'AgentSpawned':
      return `spawned ${e.data.kind} ${e.data.role} with ${e.data.budget} tokens${e.data.parentId ? ` under ${e.data.parentId}` : ''}${e.data.started ? `, ${startedText(e.data.started)}` : ''}: ${short(e.data.task)}`;
    case 'AgentRunRequested':
      return 'run requested';
    case 'AgentStarted':
      return startedText(e.data);
    case 'ChildSpawned':
      return `spawned child ${e.data.childId} (${e.data.role}, ${e.data.delegatesBudget ? 'delegated ' : ''}${e.data.budget} tokens)${e.data.nodeAttempt !== null ? `, node ${e.data.nodeId} started (attempt ${e.data.nodeAttempt})` : ''}`;
    case 'ChildFinished':
      return `child ${e.data.childId} ${e.data.status}${e.data.reclaim ? `, ${reclaimText(e.data.reclaim)}` : ''}${e.data.completesNode !== null ? `, node ${e.data.completesNode} completed` : ''}`;
    case 'AgentCompleted':
      return `completed, returned ${e.data.returned} tokens: ${short(e.data.output)}`;
    case 'AgentFailed':
      return `failed (${e.data.cause}), returned ${e.data.returned} tokens: ${short(e.data.reason)}`;
    case 'AgentTerminated':
      return `terminated${e.data.by ? ` by ${e.data.by}` : ''}, returned ${e.data.returned} tokens: ${short(e.data.reason)}`;
    case 'AgentTimedOut':
      return `timed out (deadline ${e.data.deadline})`;
    case 'AgentTerminating':
      return `being terminated${e.data.by ? ` by ${e.data.by}` : ''}: ${short(e.data.reason)}`;
    case 'BudgetReserved':
      return `reserved ${e.data.amount} tokens`;
    case 'BudgetSettled':
      return `settled ${e.data.consumed} tokens on ${e.data.model} ($${e.data.costUsd.toFixed(6)})`;
    case 'BudgetReleased':
      return `released reservation ${e.data.reservationId}: ${short(e.data.reason)}`;
    case 'BudgetDelegated':
      return `delegated ${e.data.amount} tokens to ${e.data.childId}`;
    case 'BudgetReclaimed':
      return `${reclaimText(e.data)} from ${e.data.childId}`;
    case 'BudgetOverspent':
      return `overspent ${e.data.excess} tokens: used ${e.data.consumed}, reserved ${e.data.reserved}`;
    case 'ModelRequested':
      return `model call ${e.data.turn} to ${e.data.model}${e.data.reserves ? `, ${e.data.reserved} tokens reserved` : ''}`;
    case 'ModelReplied': {
      const u = e.data.usage;
      const settled = e.data.settles ? `; settled ${totalTokens(u)} tokens ($${e.data.costUsd.toFixed(6)})` : '';
      return `model replied${e.data.resent ? RESENT : ''} (${e.data.stopReason}, ${u.inputTokens} in / ${u.outputTokens} out${settled})`;
    }
    case 'ModelFailed':
      return `model call failed${e.data.resent ? RESENT : ''}${e.data.retryable ? ' (retryable)' : ''}: ${short(e.data.error)}`;
    case 'ToolCalled':
      return `tool ${e.data.name} called`;
    case 'ToolReturned':
      return `tool ${e.data.name} ${e.data.isError ? 'failed' : 'returned'}`;
    case 'MessageSent':
      return `message to ${e.data.to} (priority ${e.data.priority})`;
    case 'MessageReceived':
      return `message from ${e.data.from} received (attempt ${e.data.attempt})`;
    case 'MessageAcked':
      return `message ${e.data.messageId} acknowledged`;
    case 'WorkspaceCreated':
      return `workspace on ${e.data.branch} from ${e.data.baseBranch}`;
    case 'WorkspaceCommitted':
      return `committed ${e.data.commit.slice(0, 8)} (${e.data.files.length} files)`;
    case 'WorkspaceMerged':
      return `merged ${e.data.branch} (${e.data.files.length} files)`;
    case 'WorkspaceMergeConflicted':
      return `merge of ${e.data.branch} conflicted in ${e.data.files.length} files`;
    case 'WorkspaceRemoved':
      return 'workspace removed';
    case 'WorkflowPlanned':
      return `workflow planned from ${e.data.source}${e.data.templateId ? ` ${e.data.templateId}` : ''}`;
    case 'WorkflowPlanRejected':
      return `plan ${e.data.attempt} refused: ${short(e.data.problems)}`;
    case 'NodeStarted':
      return `node ${e.data.nodeId} started on ${e.data.childId} (attempt ${e.data.attempt})`;
    case 'NodeCompleted':
      return `node ${e.data.nodeId} completed`;
    case 'NodeFailed':
      return `node ${e.data.nodeId} failed${e.data.willRetry ? ', will retry' : ''}: ${short(e.data.reason)}`;
    case 'NodeSkipped':
      return `node ${e.data.nodeId} skipped: ${short(e.data.reason)}`;
    case 'ApprovalRequested':
      return `${e.data.tool} (${e.data.callId}) waits for approval`;
    case 'ApprovalGranted':
      return `${e.data.callId} approved${e.data.by ? ` by ${e.data.by}` : ''}`;
    case 'ApprovalDenied':
      return `${e.data.callId} denied${e.data.by ? ` by ${e.data.by}` : ''}: ${short(e.data.reason)}`;
    default: {
      const never: never = e;
      return never;
    }
  }
}

/** A child's budget return, in a history line. */
const reclaimText = (r: { readonly returned: number; readonly allocated: number; readonly overspent: number }): string =>
  `reclaimed ${r.returned} of ${r.allocated} tokens${r.overspent > 0 ? `; its subtree overspent ${r.overspent}` : ''}`;

const startedText = (d: EventData<'AgentStarted'>): string => (d.deadline ? `started (deadline ${d.deadline})` : 'started');

/** What a reply or failure marked `resent` adds to its line, first, where a clipped line keeps it. */
const RESENT = ' [sent again after a host took the agent over: the provider may have billed it more than once]';
