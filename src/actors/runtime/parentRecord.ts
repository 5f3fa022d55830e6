import type { DomainEvent } from '../../events/catalogue.js';
import type { EventToAppend } from '../../events/envelope.js';
import type { AgentContext } from '../agentContext.js';
import { withinDeadline } from '../deadline.js';
import { reclaimOf } from '../agentDecisions.js';
import { agentMachine, isTerminalStatus, statusOf } from '../agentMachine.js';
import type { LiveActor } from '../liveActor.js';
import type { MergeOutcome } from '../ports/workspacePort.js';
import { pureTransition } from '../pureTransition.js';
import type { AgentSnapshot } from '../replay.js';
import { agentStream } from '../streams.js';
import { foldTail } from './actorCache.js';
import type { Alongside } from './commandExecutor.js';
import { hostsHere, track, type RuntimeContext } from './runtimeContext.js';
import { spawnsAlong } from './spawnsAlong.js';

/**
 * What a parent records of a child's end, decided on the parent's state: ChildFinished with
 * the budget's return (and, for a workflow's node child that completed, the node's completion),
 * the merge of its worktree, and what the parent itself decides of it (a workflow's node
 * outcome, its end). [] when the parent has recorded it already.
 */
export function parentRecordOfEnd(rt: RuntimeContext, parent: AgentSnapshot, child: AgentContext, merge: MergeOutcome | null, terminating: boolean): DomainEvent[] {
  const childId = child.id;
  const rec = parent.context.children[childId];
  if (!rec || rec.status !== 'live' || !child.result) return [];
  // Being fired, maybe by another process whose cascade ended this child: nothing more is decided.
  terminating ||= parent.context.terminating !== null;
  const completesNode = rt.childEndEvents && !terminating ? nodeCompletedBy(parent.context, childId, child.result.status) : null;
  const events: DomainEvent[] = [
    { type: 'ChildFinished', data: { childId, status: child.result.status, output: child.result.output, reclaim: reclaimOf(rec.budget, child.budget), completesNode } },
  ];
  if (merge && merge.status === 'merged') events.push({ type: 'WorkspaceMerged', data: { childId, branch: child.workspace!.branch, commit: merge.commit, files: [...merge.files] } });
  if (merge && merge.status === 'conflict') events.push({ type: 'WorkspaceMergeConflicted', data: { childId, branch: child.workspace!.branch, files: [...merge.files] } });
  if (!rt.childEndEvents) return events;
  let after = parent;
  for (const e of events) after = pureTransition(agentMachine, after, e)[0];
  return [...events, ...rt.childEndEvents(after, { childId, reason: child.result.reason, cause: child.result.cause }, terminating)];
}

/**
 * The workflow node a child's end completes: the one whose current attempt it runs, when it
 * completed (the scheduler's rule, which recorded a NodeCompleted beside ChildFinished v1 and v2).
 * Decided only where workflows are attached and the parent is not being ended, as that
 * NodeCompleted was.
 */
function nodeCompletedBy(parent: AgentContext, childId: string, status: string): string | null {
  const nodeId = parent.children[childId]?.nodeId ?? null;
  if (status !== 'completed' || nodeId === null) return null;
  const node = parent.nodes[nodeId];
  return node?.status === 'running' && node.childId === childId ? nodeId : null;
}

/** Ended, with nothing to do between its ending's commit and its parent's record: no worktree to commit, merge or remove. */
export const endsWithNothingLeft = (s: AgentSnapshot): boolean => isTerminalStatus(statusOf(s.value)) && !s.context.workspace && !s.context.workspaceRequest;

/**
 * A root whose ending leaves nothing to do: its ending's commit ends its index entry too (its
 * last event is marked `settles`, see settling). A child's is ended by its parent's record.
 */
export const settlesOwnEntry = (rt: RuntimeContext, s: AgentSnapshot): boolean => rt.deps.index.followsEvents && !s.context.parentId && endsWithNothingLeft(s);

/**
 * `env` marked to end `agentId`'s actor-index entry with its commit (metadata `settles`, see
 * runtimeTables.ts indexSettlesWithEvents): a parent's ChildFinished ends the child's entry, the
 * last event of a root's ending its own.
 */
export function settling(rt: RuntimeContext, env: EventToAppend, agentId: string): EventToAppend {
  if (!rt.deps.index.followsEvents) return env;
  return { ...env, metadata: { ...env.metadata, settles: agentId } };
}

/**
 * Marks the ChildFinished for `childId` among a parent's `envelopes` to end the child's entry
 * (see settling); true if it did. Not where that envelope is the last one and already ends the
 * parent's own entry (`ownSettled`): metadata names one entry, and the child's ending then marks
 * it ended itself.
 */
export function settlingChild(rt: RuntimeContext, events: readonly DomainEvent[], envelopes: EventToAppend[], childId: string, ownSettled: boolean): boolean {
  if (!rt.deps.index.followsEvents) return false;
  const i = events.findIndex((e) => e.type === 'ChildFinished' && e.data.childId === childId);
  if (i < 0 || (ownSettled && i === envelopes.length - 1)) return false;
  envelopes[i] = settling(rt, envelopes[i]!, childId);
  return true;
}

/** The causation of what a parent records of a child's end. */
export const endCausation = (childId: string): string => `agent:${childId}`;

/**
 * A child whose decision ends it takes its parent's record of the end along, in the same commit
 * (appendChain), when nothing has to happen between the two: no worktree to commit and merge
 * first, and a parent this process hosts and has cached. Otherwise (or when the parent's copy
 * turns out stale: the chained append is refused and the child's is stored alone) the child's
 * ending records it, as before (ending.ts ensureParentNotified). Saves a commit and the
 * parent's load per agent step. What the parent spawns next on that record (a workflow's next
 * node) and the new child's opening ride along too (spawnsAlong.ts): one more commit saved.
 *
 * The parent's cached copy takes the record after the commit: at once when nothing runs on its
 * mailbox, else on it, never holding the child's mailbox while waiting for the parent's; a
 * command the parent ran meanwhile was refused for the revision and folded the tail.
 */
export async function parentRecordAlong(rt: RuntimeContext, childActor: LiveActor, child: AgentSnapshot, decidedAt: Date, envelope: (c: AgentContext, e: DomainEvent, causationId: string) => EventToAppend): Promise<Alongside[] | null> {
  const c = child.context;
  if (!c.parentId || !c.result || !endsWithNothingLeft(child)) return null;
  const parentId = c.parentId;
  const parent = rt.actors.get(parentId);
  // One chained record in flight per parent: a sibling ending meanwhile would decide on the copy
  // before it and be refused; it records its end the usual way instead.
  if (!parent || !hostsHere(rt, parentId) || rt.opening.has(parentId) || parent.inflight.recording) return null;
  const base = parent.revision;
  const decided = parent.snapshot;
  const recorded = parentRecordOfEnd(rt, decided, c, null, parent.inflight.terminating);
  if (recorded.length === 0) return null;
  // The parent's decision as much as the child's: kept to the parent's deadline (a workflow
  // completed 33 ms past its own when its last node's end was recorded here, a new user's try).
  const events = withinDeadline(decided.context, recorded, decidedAt, rt.deps.config.defaultTimeoutMs) ?? recorded;
  let next = decided;
  for (const e of events) {
    if (!next.can(e)) return null;
    next = pureTransition(rt.effectful, next, e)[0];
  }
  parent.inflight.recording = true;
  // What the parent spawns next (a workflow's next node) rides along too, with its opening.
  const spawns = parent.inflight.terminating || next.context.terminating || isTerminalStatus(statusOf(next.value)) ? null : await spawnsAlong(rt, next).catch(() => null);
  if (spawns) {
    events.push(...spawns.events);
    next = spawns.next;
  }
  // The record may end the parent too (a workflow's last node): then it settles its entry as well.
  const parentSettles = settlesOwnEntry(rt, next);
  const envelopes = events.map((e, i) => {
    const env = envelope(next.context, e, endCausation(c.id));
    if (e.type === 'ChildFinished') return settling(rt, env, c.id);
    return parentSettles && i === events.length - 1 ? settling(rt, env, parentId) : env;
  });
  const record: Alongside = {
    append: { streamId: agentStream(parentId), events: envelopes, expectedRevision: base },
    async settle(outcome) {
      parent.inflight.recording = false;
      // Not stored (a stale copy, say): the child's ending records it (ensureParentNotified).
      if (!outcome?.ok) return;
      // Its ChildFinished ended the child's index entry (settling): nothing is left of the ending.
      childActor.indexEnded = rt.deps.index.followsEvents;
      if (parentSettles) parent.indexEnded = true;
      const record = { base, next, count: events.length, revision: outcome.value.nextExpectedRevision };
      // Nothing is running on the parent's mailbox: taking the record now is taking it there.
      if (parent.busy === 0 && takeRecord(rt, parent, record)) return rt.reconcileSoon(parent.id);
      void track(rt, adoptRecord(rt, parent, record));
    },
  };
  return [record, ...(spawns?.openings ?? [])];
}

interface StoredRecord {
  readonly base: bigint;
  readonly next: AgentSnapshot;
  readonly count: number;
  readonly revision: bigint;
}

/** The parent's copy becomes the one with the record, if it is still the copy it was decided on. */
function takeRecord(rt: RuntimeContext, parent: LiveActor, r: StoredRecord): boolean {
  if (rt.actors.get(parent.id) !== parent || parent.revision !== r.base) return false;
  parent.snapshot = r.next;
  parent.revision = r.revision;
  parent.eventsSinceSnapshot += r.count;
  parent.changed();
  return true;
}

/** On the parent's mailbox: takes the stored record (or reads it, if another write moved the copy), then does what is due. */
async function adoptRecord(rt: RuntimeContext, parent: LiveActor, r: StoredRecord): Promise<void> {
  try {
    await parent.enqueue(async () => {
      // Replaced: the new copy was read from the stream.
      if (rt.actors.get(parent.id) !== parent || takeRecord(rt, parent, r)) return;
      if (parent.revision < r.revision) await foldTail(rt, parent);
    });
  } catch (err) {
    rt.deps.logger.warn({ agentId: parent.id, err }, 'the parent did not take its record of a child’s end; it will read it from its stream');
  }
  rt.reconcileSoon(parent.id);
}
