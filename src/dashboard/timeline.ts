import type { HistoryEvent } from '../events/historyEvent.js';
import type { EventData } from '../events/catalogue.js';
import { totalTokens } from '../actors/ports/modelProvider.js';

/** One event as a person reads it: what happened, in a line, with the details kept. */
export interface TimelineEntry {
  /** Plain numbers, as in `history --json` (docs/cli.md). */
  readonly revision: number;
  readonly position: number;
  readonly at: string;
  readonly type: string;
  /** 'lifecycle' | 'budget' | 'model' | 'tool' | 'message' | 'workspace' | 'workflow' */
  readonly category: string;
  readonly summary: string;
  readonly data: unknown;
}

const clip = (s: string, n = 160): string => (s.length > n ? `${s.slice(0, n - 1)}…` : s);
const json = (v: unknown): string => {
  try {
    return JSON.stringify(v) ?? 'null';
  } catch {
    return String(v);
  }
};

/**
 * Summarises an event: model turns show what the model said and which tools it called, tool
 * calls show their input and result, budget events their amounts.
 *
 * @example
 * (await system.history(id)).map(timelineEntry).forEach((e) => console.log(e.revision, e.summary));
 */
export function timelineEntry(e: HistoryEvent): TimelineEntry {
  const base = { revision: e.revision, position: e.position, at: e.metadata.at, type: e.type, data: e.data };
  const entry = (category: string, summary: string): TimelineEntry => ({ ...base, category, summary: clip(summary) });
  switch (e.type) {
    case 'AgentSpawned':
      return entry('lifecycle', `spawned as ${e.data.role} with ${e.data.budget} tokens${e.data.parentId ? ` under ${e.data.parentId}` : ''}${e.data.started ? `, started${deadlineText(e.data.started)}` : ''}: ${e.data.task}`);
    case 'AgentRunRequested':
      return entry('lifecycle', 'asked to run');
    case 'AgentStarted':
      return entry('lifecycle', `started${deadlineText(e.data)}`);
    case 'ChildSpawned':
      return entry('lifecycle', `spawned child ${e.data.role} ${e.data.childId} with ${e.data.budget} tokens${e.data.nodeAttempt !== null ? `, starting node ${e.data.nodeId} (attempt ${e.data.nodeAttempt})` : ''}`);
    case 'ChildFinished':
      return entry('lifecycle', `child ${e.data.childId} ${e.data.status}${e.data.reclaim ? `, ${e.data.reclaim.returned} tokens back` : ''}${e.data.completesNode !== null ? `, node ${e.data.completesNode} completed` : ''}${e.data.output ? `: ${e.data.output}` : ''}`);
    case 'AgentCompleted':
      return entry('lifecycle', `completed: ${e.data.output ?? ''}`);
    case 'AgentFailed':
      return entry('lifecycle', `failed: ${e.data.reason}`);
    case 'AgentTerminated':
      return entry('lifecycle', `terminated: ${e.data.reason}`);
    case 'AgentTimedOut':
      return entry('lifecycle', 'timed out');
    case 'AgentTerminating':
      return entry('lifecycle', `being terminated${e.data.by ? ` by ${e.data.by}` : ''}: ${e.data.reason}`);
    case 'BudgetReserved':
      return entry('budget', `reserved ${e.data.amount} tokens`);
    case 'BudgetSettled':
      return entry('budget', `settled: ${e.data.consumed} tokens used, $${e.data.costUsd.toFixed(4)}`);
    case 'BudgetReleased':
      return entry('budget', `released a reservation (${e.data.reason})`);
    case 'BudgetDelegated':
      return entry('budget', `delegated ${e.data.amount} tokens to ${e.data.childId}`);
    case 'BudgetReclaimed':
      return entry('budget', `reclaimed ${e.data.returned} tokens from ${e.data.childId}${e.data.overspent > 0 ? ` (its subtree overspent ${e.data.overspent})` : ''}`);
    case 'BudgetOverspent':
      // Over the call's reservation, which is not the balance's "overspent" (past the allocation):
      // said in few words, as the timeline clips a line at 160 characters.
      return entry('budget', `OVER RESERVATION: a call used ${e.data.consumed} tokens of ${e.data.reserved} reserved (+${e.data.excess})`);
    case 'ModelRequested':
      // v2 holds its reservation; a v1 request's was a BudgetReserved before it, and a fork's
      // carried request (reserves: false) holds none.
      return entry('model', `turn ${e.data.turn}: asked ${e.data.model}${e.data.reserves ? ` (${e.data.reserved} tokens reserved)` : ''}`);
    case 'ModelReplied': {
      const said = e.data.content.map((b) => (b.type === 'text' ? b.text : `→ ${b.name}(${json(b.input)})`)).join(' ');
      // v2 settles the call itself: what a BudgetSettled said after a v1 reply.
      const settled = e.data.settles ? `; settled: ${totalTokens(e.data.usage)} tokens used, $${e.data.costUsd.toFixed(4)}` : '';
      return entry('model', `model replied${e.data.resent ? RESENT : ''} (${usageText(e.data.usage)}${settled}): ${said}`);
    }
    case 'ModelFailed':
      return entry('model', `model call failed${e.data.resent ? RESENT : ''}: ${e.data.error}`);
    case 'ToolCalled':
      return entry('tool', `tool ${e.data.name}(${json(e.data.input)})`);
    case 'ToolReturned':
      return entry('tool', `${e.data.name} ${e.data.isError ? 'failed' : 'returned'}: ${e.data.output}`);
    case 'MessageSent':
      return entry('message', `sent message to ${e.data.to} (priority ${e.data.priority}): ${json(e.data.payload)}`);
    case 'MessageReceived':
      return entry('message', `received message ${e.data.messageId} from ${e.data.from} (attempt ${e.data.attempt})`);
    case 'MessageAcked':
      return entry('message', `acknowledged message ${e.data.messageId}`);
    case 'WorkspaceCreated':
      return entry('workspace', `worktree on ${e.data.branch} at ${e.data.path}`);
    case 'WorkspaceCommitted':
      return entry('workspace', `committed ${e.data.commit.slice(0, 10)}`);
    case 'WorkspaceMerged':
      return entry('workspace', `merged ${e.data.childId} (${e.data.files.length} files)`);
    case 'WorkspaceMergeConflicted':
      return entry('workspace', `merge conflict with ${e.data.childId} in ${e.data.files.join(', ')}`);
    case 'WorkspaceRemoved':
      return entry('workspace', 'worktree removed');
    case 'WorkflowPlanned':
      return entry('workflow', `planned (${e.data.source}${e.data.templateId ? ` ${e.data.templateId}` : ''})`);
    case 'WorkflowPlanRejected':
      return entry('workflow', `plan ${e.data.attempt} refused: ${e.data.problems}`);
    case 'NodeStarted':
      return entry('workflow', `node ${e.data.nodeId} started as ${e.data.childId} (attempt ${e.data.attempt})`);
    case 'NodeCompleted':
      return entry('workflow', `node ${e.data.nodeId} completed`);
    case 'NodeFailed':
      return entry('workflow', `node ${e.data.nodeId} failed${e.data.willRetry ? ', will retry' : ''}`);
    case 'NodeSkipped':
      return entry('workflow', `node ${e.data.nodeId} skipped`);
    case 'ApprovalRequested':
      return entry('tool', `${e.data.tool} waits for approval (${e.data.callId})`);
    case 'ApprovalGranted':
      return entry('tool', `${e.data.callId} approved${e.data.by ? ` by ${e.data.by}` : ''}`);
    case 'ApprovalDenied':
      return entry('tool', `${e.data.callId} denied: ${e.data.reason}`);
    default:
      return assertNever(e);
  }
}

function assertNever(e: never): never {
  throw new Error(`unhandled event ${json(e)}`);
}

/** A reply's usage, its cache counts only when it has them (they are charged too). */
function usageText(u: EventData<'ModelReplied'>['usage']): string {
  const cache = [[u.cacheReadTokens, 'cache read'], [u.cacheCreationTokens, 'cache written']] as const;
  return [`${u.inputTokens} in / ${u.outputTokens} out`, ...cache.filter(([n]) => n > 0).map(([n, what]) => `${n} ${what}`)].join(', ');
}

const deadlineText = (d: EventData<'AgentStarted'>): string => (d.deadline ? ` (deadline ${d.deadline})` : '');

/** Said of a reply or failure marked `resent`, first: the timeline clips a line at 160 characters. */
const RESENT = ' [sent again after a takeover: maybe billed more than once]';
