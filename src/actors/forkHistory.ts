import type { DomainEvent, EventOf } from '../events/catalogue.js';
import { InvalidInput } from '../errors.js';
import { totalTokens } from './ports/modelProvider.js';

/** What a fork carries over from its source's stream, cut at a revision. */
export interface ForkCut {
  /** The source's AgentSpawned: the spec the fork starts from. */
  readonly source: EventOf<'AgentSpawned'>['data'];
  /**
   * The source's own past up to the cut, to record after the fork's spawn and start: its
   * conversation, and its children and workflow nodes under their forks' ids.
   */
  readonly history: readonly DomainEvent[];
  /** Tokens the source had spent up to the cut: shown on the fork, never charged to it. */
  readonly spentBefore: number;
  /**
   * The last commit the source's history records at or before the cut: its latest commit or
   * merge, else its worktree's base; null when it recorded none. The fork's branch starts there.
   */
  readonly baseCommit: string | null;
}

export interface ForkCutOptions {
  /** The fork's id for each child the source spawned by the cut (see forkPlan.ts). */
  readonly childIds?: ReadonlyMap<string, string>;
  /** A child of a forked subtree may have ended by the cut; the fork's own root may not. */
  readonly mayHaveEnded?: boolean;
}

// Carried over as they were: the conversation, its tool calls and approvals, a workflow's plan;
// messages too, for forkPlan to send again inside the fork or drop (forkedMessage).
const carried = new Set(['ModelRequested', 'ModelReplied', 'ModelFailed', 'ToolCalled', 'ToolReturned', 'ApprovalRequested', 'ApprovalGranted', 'ApprovalDenied', 'WorkflowPlanned', 'WorkflowPlanRejected', 'NodeSkipped', 'MessageSent', 'MessageReceived', 'MessageAcked']);
// Carried under the fork's ids of the children they name (a ChildSpawned v4 starting its node
// and a ChildFinished v3 completing it as they are; the NodeStarted/NodeCompleted beside older ones too).
const naming = new Set(['ChildSpawned', 'ChildFinished', 'NodeStarted', 'NodeCompleted', 'NodeFailed']);
// A child's end, carried when the cut is past it (a subtree's children only).
const ending = new Set(['AgentCompleted', 'AgentFailed', 'AgentTerminated', 'AgentTimedOut', 'AgentTerminating']);
// The fork records its own: its spawn, and a start whose deadline counts from the fork.
const replaced = new Set(['AgentSpawned', 'AgentRunRequested', 'AgentStarted']);
// The source's ledger: tallied as history, not charged to the fork. A child's delegation and
// return ride on the fork's ChildSpawned and ChildFinished (as since their v3 and v2), so the
// BudgetDelegated/BudgetReclaimed that followed older records are not copied either; a call's
// reservation and settlement ride on its ModelRequested and ModelReplied (since their v2),
// which are carried with `reserves` and `settles` off.
const ledger = new Set(['BudgetReserved', 'BudgetSettled', 'BudgetReleased', 'BudgetOverspent', 'BudgetDelegated', 'BudgetReclaimed']);
// The source's worktree: the fork makes its own, from the last commit recorded.
const workspace = new Set(['WorkspaceCreated', 'WorkspaceCommitted', 'WorkspaceMerged', 'WorkspaceMergeConflicted', 'WorkspaceRemoved']);

/** The commit an event of the source's worktree records, if any. */
function commitOf(e: DomainEvent): string | null {
  if (e.type === 'WorkspaceCreated') return e.data.baseCommit;
  if (e.type === 'WorkspaceCommitted' || e.type === 'WorkspaceMerged') return e.data.commit;
  return null;
}

/**
 * The events a fork of a stream at `atRevision` opens with (after its own spawn and start), and
 * what the source had spent until then. Pure. A model call asked for and not answered by the cut
 * is left out, so the fork asks again (with its own model); completed calls are kept and never
 * re-run. A tool call without its result is kept: the fork runs it, asking a person again if it
 * needs approval (an approval was for the source's run). Children and workflow nodes
 * are carried under the ids `childIds` gives them; a ChildSpawned delegates its budget itself
 * (`delegatesBudget`), and a ChildFinished's `reclaim` is the source's until forkPlan recomputes
 * it on the fork's ledgers; messages are left for forkPlan to re-address. Refused, naming
 * `fork.atRevision`: a revision past the stream's end, a cut after the source ended (unless
 * `mayHaveEnded`), and an event no fork knows how to carry.
 *
 * @example
 * const { history, spentBefore, baseCommit } = forkHistory(sourceEvents, 7);
 */
export function forkHistory(events: readonly DomainEvent[], atRevision: number, options: ForkCutOptions = {}): ForkCut {
  if (!Number.isSafeInteger(atRevision) || atRevision < 0 || atRevision >= events.length) {
    throw new InvalidInput('fork.atRevision', `must be a revision of the source's stream, 0 to ${events.length - 1}`);
  }
  const cut = events.slice(0, atRevision + 1);
  const opening = cut[0];
  if (opening?.type !== 'AgentSpawned') throw new InvalidInput('fork.sourceId', 'the stream does not open with AgentSpawned');
  const answered = new Set<string>();
  const returned = new Set<string>();
  for (const e of cut) {
    if (e.type === 'ModelReplied' || e.type === 'ModelFailed') answered.add(e.data.callId);
    if (e.type === 'ToolReturned') returned.add(e.data.toolUseId);
  }
  const history: DomainEvent[] = [];
  let spentBefore = 0;
  let baseCommit: string | null = null;
  cut.forEach((e, revision) => {
    if (replaced.has(e.type)) return;
    if (workspace.has(e.type)) {
      baseCommit = commitOf(e) ?? baseCommit;
      return;
    }
    if (ledger.has(e.type)) {
      if (e.type === 'BudgetSettled') spentBefore += e.data.consumed;
      return;
    }
    if (naming.has(e.type)) return void history.push(renamed(e, options.childIds, opening.data.agentId));
    if (ending.has(e.type) && options.mayHaveEnded) return void history.push(e);
    if (ending.has(e.type)) throw new InvalidInput('fork.atRevision', `the source had ended by then (its ${e.type} is revision ${revision}): a fork starts from a point where the agent was still running; fork at revision ${revision - 1} or earlier`);
    if (!carried.has(e.type)) throw new InvalidInput('fork.atRevision', `${opening.data.agentId}'s ${e.type} at revision ${revision} comes before the cut: a fork cannot carry it (fork at an earlier revision)`);
    if (e.type === 'ModelRequested' && !answered.has(e.data.callId)) return; // asked again by the fork
    // A call's reservation and usage are the source's ledger: carried as records that move none.
    if (e.type === 'ModelRequested') return void history.push({ type: e.type, data: { ...e.data, reserves: false } });
    if (e.type === 'ModelReplied') {
      if (e.data.settles) spentBefore += totalTokens(e.data.usage);
      return void history.push({ type: e.type, data: { ...e.data, settles: false } });
    }
    // A person's answer was for the source's call: the fork's run of it is asked about again.
    if ((e.type === 'ApprovalRequested' || e.type === 'ApprovalGranted') && !returned.has(e.data.callId)) return;
    history.push(e);
  });
  return { source: opening.data, history, spentBefore, baseCommit };
}

/** An event naming a child, under the child's fork's id; a ChildSpawned delegates its budget itself. */
function renamed(e: DomainEvent, childIds: ReadonlyMap<string, string> | undefined, sourceId: string): DomainEvent {
  const { childId } = e.data as { childId: string };
  const id = childIds?.get(childId);
  if (id === undefined) throw new Error(`fork of ${sourceId}: no id for its child ${childId} (${e.type})`);
  if (e.type === 'ChildSpawned') return { type: e.type, data: { ...e.data, childId: id, delegatesBudget: true } };
  return { ...e, data: { ...e.data, childId: id } } as DomainEvent;
}
