import type { DomainEvent, EventOf } from '../events/catalogue.js';
import { InvalidInput } from '../errors.js';

/** What a fork carries over from its source's stream, cut at a revision. */
export interface ForkCut {
  /** The source's AgentSpawned: the spec the fork starts from. */
  readonly source: EventOf<'AgentSpawned'>['data'];
  /** The source's own conversation up to the cut, to record after the fork's spawn and start. */
  readonly history: readonly DomainEvent[];
  /** Tokens the source had spent up to the cut: shown on the fork, never charged to it. */
  readonly spentBefore: number;
  /**
   * The last commit the source's history records at or before the cut: its latest commit or
   * merge, else its worktree's base; null when it recorded none. The fork's branch starts there.
   */
  readonly baseCommit: string | null;
}

// Carried over as they were: the conversation, its tool calls and approvals.
const carried = new Set(['ModelRequested', 'ModelReplied', 'ModelFailed', 'ToolCalled', 'ToolReturned', 'ApprovalRequested', 'ApprovalGranted', 'ApprovalDenied']);
// The fork records its own: its spawn, and a start whose deadline counts from the fork.
const replaced = new Set(['AgentSpawned', 'AgentRunRequested', 'AgentStarted']);
// The source's ledger: tallied as history, not charged to the fork.
const ledger = new Set(['BudgetReserved', 'BudgetSettled', 'BudgetReleased', 'BudgetOverspent']);
// The source's worktree: the fork makes its own, from the last commit recorded.
const workspace = new Set(['WorkspaceCreated', 'WorkspaceCommitted', 'WorkspaceMerged', 'WorkspaceMergeConflicted']);

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
 * re-run. A tool call without its result is kept: the fork runs it. Refused, naming
 * `fork.atRevision`: a revision past the stream's end, a cut after the source ended, and (not yet
 * supported) a history with children, messages or a workflow's nodes.
 *
 * @example
 * const { history, spentBefore, baseCommit } = forkHistory(sourceEvents, 7);
 */
export function forkHistory(events: readonly DomainEvent[], atRevision: number): ForkCut {
  if (!Number.isSafeInteger(atRevision) || atRevision < 0 || atRevision >= events.length) {
    throw new InvalidInput('fork.atRevision', `must be a revision of the source's stream, 0 to ${events.length - 1}`);
  }
  const cut = events.slice(0, atRevision + 1);
  const opening = cut[0];
  if (opening?.type !== 'AgentSpawned') throw new InvalidInput('fork.sourceId', 'the stream does not open with AgentSpawned');
  const answered = new Set<string>();
  for (const e of cut) if (e.type === 'ModelReplied' || e.type === 'ModelFailed') answered.add(e.data.callId);
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
    if (!carried.has(e.type)) throw new InvalidInput('fork.atRevision', `the source's ${e.type} at revision ${revision} comes before the cut: forking past it is not supported yet (fork at an earlier revision)`);
    if (e.type === 'ModelRequested' && !answered.has(e.data.callId)) return; // asked again by the fork
    history.push(e);
  });
  return { source: opening.data, history, spentBefore, baseCommit };
}
