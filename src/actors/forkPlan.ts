import type { DomainEvent, EventData } from '../events/catalogue.js';
import { InvalidInput } from '../errors.js';
import { evolve, initialContext, type AgentContext } from './agentContext.js';
import { reclaimOf } from './agentDecisions.js';
import { available } from './budget.js';
import { forkHistory, type ForkCut } from './forkHistory.js';
import { replyDecisionEnd } from './replyDecisionEnd.js';
import { agentSpawned, childSpawned, type AgentSpec } from './spawnSpec.js';

/** One agent of the source's subtree as read: its whole stream, with each event's global position. */
export interface SourceStream {
  readonly events: readonly DomainEvent[];
  readonly positions: readonly bigint[];
}

export interface ForkPlanInput {
  readonly sourceId: string;
  readonly atRevision: number;
  readonly forkId: string;
  /** The source and every agent below it that the cut reaches, by id (forkSubtree reads them). */
  readonly streams: ReadonlyMap<string, SourceStream>;
  /** What the fork changes in its source's spec; the children keep theirs. */
  readonly overrides: { readonly budget?: number | undefined; readonly model?: string | undefined; readonly instructions?: string | undefined };
  /** The agent the fork goes under (its budget delegated from it), or null: a new root. */
  readonly parent: AgentContext | null;
  /** The system's id derivation (ids.derive): a child's fork gets the id the fork's own runtime would give it. */
  readonly derive: (scope: string, name: string) => string;
  /** The start a fork records after its spawn (its deadline counts from the fork). */
  readonly started: (c: AgentContext) => DomainEvent;
}

/** One stream of the fork: its AgentSpawned and the rest of its opening. */
export interface ForkOpening {
  readonly spawned: EventData<'AgentSpawned'>;
  readonly events: readonly DomainEvent[];
  /** Ended by the cut while its parent's fork has not recorded it: the parent is told once the fork is stored. */
  readonly endUnrecorded: boolean;
}

/**
 * The streams a fork of `sourceId` at `atRevision` opens, parents before children. Pure.
 *
 * The source's cut is `atRevision`, or the end of the model reply's decision it falls in (a state
 * with part of one is a state the agent never had: replyDecisionEnd); every agent below it is cut at the same point of the store's
 * global order (its last event at or before the source's cut event's position), so each child is
 * as it was when the parent stood there: its past up to there, ended if it had ended (its parent's
 * fork told of it if the parent had not recorded it yet). A child's fork has the id the fork's
 * runtime would give it when deciding again: a model's spawn_agent call derives it from the tool
 * call, a workflow's node from the node and attempt; so a call the cut left running finds its
 * child instead of spawning a second one.
 *
 * Budgets: no fork is charged for its source's spending (each records it as
 * `forkedFrom.spentBefore`). A parent's fork delegates to each child what the source did, and an
 * ended child returns what its fork's ledger says, so conservation holds on the new tree.
 */
export function planFork(input: ForkPlanInput): ForkOpening[] {
  const root = input.streams.get(input.sourceId);
  if (!root) throw new InvalidInput('fork.sourceId', `no stream for ${input.sourceId}`);
  const subtree = walkSubtree(input, root, forkRevision(root.events, input.atRevision));
  const openings: ForkOpening[] = [];
  forkOne({ ...input, subtree }, openings, input.sourceId, input.forkId, input.parent, (cut) => rootSpec(input, cut));
  return openings;
}

/** The source's subtree as the fork sees it. */
interface Subtree {
  /** The fork's id of every agent of the source's subtree, by the source's. */
  readonly ids: ReadonlyMap<string, string>;
  /** The other way: the source's id of every agent of the fork. */
  readonly sources: ReadonlyMap<string, string>;
  /** Where each source stream is cut. */
  readonly cuts: ReadonlyMap<string, number>;
  /** Messages their recipients had acknowledged by their cuts: delivered, not sent again. */
  readonly acked: ReadonlySet<string>;
}

type Planning = ForkPlanInput & { readonly subtree: Subtree };

/**
 * Every agent below the source that its cut reaches, with its fork's id and its own cut: its last
 * event at or before the source's cut event's global position (at least its opening, which its
 * parent's record of it travelled with), moved to the end of a reply's decision it falls in.
 */
function walkSubtree(input: ForkPlanInput, root: SourceStream, revision: number): Subtree {
  const cutPosition = root.positions[revision]!;
  const ids = new Map([[input.sourceId, input.forkId]]);
  const cuts = new Map([[input.sourceId, revision]]);
  const visit = (sourceId: string, forkId: string): void => {
    const stream = input.streams.get(sourceId)!;
    const cut = stream.events.slice(0, cuts.get(sourceId)! + 1);
    for (const [child, id] of forkChildIds(cut, forkId, input.derive, stream.events)) {
      ids.set(child, id);
      const childStream = input.streams.get(child);
      if (!childStream) continue;
      let at = 0;
      childStream.positions.forEach((p, i) => {
        if (p <= cutPosition) at = i;
      });
      cuts.set(child, replyDecisionEnd(childStream.events, at));
      visit(child, id);
    }
  };
  visit(input.sourceId, input.forkId);
  const acked = new Set<string>();
  for (const [sourceId, at] of cuts) {
    for (const e of input.streams.get(sourceId)!.events.slice(0, at + 1)) if (e.type === 'MessageAcked') acked.add(e.data.messageId);
  }
  return { ids, sources: new Map([...ids].map(([from, to]) => [to, from])), cuts, acked };
}

/**
 * A message the source's subtree sent inside itself and its recipient had not acknowledged by
 * its cut is sent again inside the fork (new id, to the recipient's fork): delivered at least
 * once, as after a crash. One acknowledged, or sent out of the subtree, is not sent again; what
 * was received is not carried (the conversation holds what the agent read). Null: dropped.
 */
function forkedMessage(e: DomainEvent, forkId: string, planning: Planning): DomainEvent | null {
  if (e.type !== 'MessageSent') return null;
  const to = planning.subtree.ids.get(e.data.to);
  if (to === undefined || planning.subtree.acked.has(e.data.messageId)) return null;
  return { type: 'MessageSent', data: { ...e.data, messageId: planning.derive(forkId, `message:${e.data.messageId}`), to } };
}

/**
 * A send_message call the cut left running runs again in the fork: addressed to an agent of the
 * source's subtree, it goes to that agent's fork, never into the source's tree.
 */
function readdressed(e: DomainEvent, ids: ReadonlyMap<string, string>): DomainEvent {
  if (e.type !== 'ToolCalled' || e.data.name !== 'send_message') return e;
  const input = e.data.input as { to?: unknown } | null;
  const to = typeof input?.to === 'string' ? ids.get(input.to) : undefined;
  return to === undefined ? e : { ...e, data: { ...e.data, input: { ...input, to } } };
}

/**
 * The revision a fork asked for at `atRevision` is cut at: there, or at the end of the model
 * reply's decision it falls in (replyDecisionEnd), or with the plan of a workflow cut at its
 * AgentSpawned: the two are one commit, and a spawn without its plan (or the graph older records
 * repeated in AgentSpawned) is a workflow that never was. Refused past the stream's end, naming
 * `fork.atRevision`.
 */
export function forkRevision(events: readonly DomainEvent[], atRevision: number): number {
  if (!Number.isSafeInteger(atRevision) || atRevision < 0 || atRevision >= events.length) forkHistory(events, atRevision); // throws, naming the field
  if (atRevision === 0 && events[1]?.type === 'WorkflowPlanned') return 1;
  const end = replyDecisionEnd(events, atRevision);
  const ended = events.slice(atRevision, end + 1).findIndex((e) => endings.has(e.type));
  if (ended >= 0) {
    // The ending itself counts as inside the reply that decided it: refused at the ending, a fork
    // was told to try the revision before, which was inside that reply and refused in turn.
    const replied = events.slice(0, atRevision + 1).findLastIndex((e) => e.type === 'ModelReplied');
    const replyEnd = replied >= 0 ? replyDecisionEnd(events, replied) : -1;
    if (replyEnd >= atRevision + ended) {
      throw new InvalidInput('fork.atRevision', `revision ${atRevision} is inside the model reply that ended the agent (revisions ${replied} to ${replyEnd}): fork at revision ${replied - 1} or earlier`);
    }
  }
  return end;
}

/** The events that end an agent. */
const endings = new Set(['AgentCompleted', 'AgentFailed', 'AgentTerminated']);

/** The root's spec: its source's, with the fork's changes; its worktree from the recorded commit. */
function rootSpec(input: ForkPlanInput, cut: ForkCut): AgentSpec {
  const o = input.overrides;
  const spec = specOf(cut, false);
  return { ...spec, budget: o.budget ?? spec.budget, model: o.model ?? spec.model, ...(o.instructions !== undefined ? { instructions: o.instructions } : {}) };
}

/**
 * A source's spec for its fork: its own place in the tree and origin dropped; a worktree from the
 * last commit it recorded by the cut (an ended child needs none: its work is in its commits).
 */
function specOf(cut: ForkCut, ended: boolean): AgentSpec {
  const { forkedFrom: _origin, started: _started, agentId: _a, parentId: _p, rootId: _r, depth: _d, ...spec } = cut.source;
  const workspace = ended || !spec.workspace ? null : cut.baseCommit ? { base: cut.baseCommit } : spec.workspace;
  return { ...spec, workspace };
}

/** Forks one agent into `openings` (itself, then its children's forks); returns its context at the end of its opening. */
function forkOne(planning: Planning, openings: ForkOpening[], sourceId: string, id: string, parent: AgentContext | null, spec: (cut: ForkCut) => AgentSpec): AgentContext {
  const source = planning.streams.get(sourceId)!;
  const revision = planning.subtree.cuts.get(sourceId)!;
  const { ids, sources } = planning.subtree;
  const cut = forkHistory(source.events, revision, { childIds: ids, mayHaveEnded: parent !== null && sourceId !== planning.sourceId });
  const spawned: EventData<'AgentSpawned'> = {
    ...agentSpawned(id, parent, spec(cut)),
    forkedFrom: { sourceId, sourceRevision: revision, sourcePosition: String(source.positions[revision]), spentBefore: cut.spentBefore },
  };
  const mine = openings.length;
  openings.push({ spawned, events: [], endUnrecorded: false });
  const children = new Map<string, { at: number; context: AgentContext }>();
  let c = initialContext(spawned);
  const events: DomainEvent[] = [];
  const record = (e: DomainEvent): void => {
    events.push(e);
    c = evolve(c, e);
  };
  record(planning.started(c));
  for (const e of cut.history) {
    if (e.type === 'MessageSent' || e.type === 'MessageReceived' || e.type === 'MessageAcked') {
      const sent = forkedMessage(e, id, planning);
      if (sent) record(sent);
      continue;
    }
    if (e.type === 'ChildSpawned') {
      const childId = e.data.childId;
      if (e.data.budget > available(c.budget)) {
        const least = peakHandedDown(cut.history);
        throw new InvalidInput('fork.budget', `too small for the fork: by the cut its source had up to ${least} tokens handed to its children at once; give at least ${least}`);
      }
      const at = openings.length;
      const child = forkChild(planning, openings, sources.get(childId)!, childId, c);
      // The parent's record carries the child's spec as its fork opens (recovery opens a child from it).
      record(child ? { type: 'ChildSpawned', data: childSpawned(childId, child.spec, e.data.toolUseId, e.data.nodeAttempt) } : e);
      if (child) children.set(childId, { at, context: child.context });
      continue;
    }
    if (e.type === 'ChildFinished') {
      const child = children.get(e.data.childId);
      if (!child?.context.result) throw new InvalidInput('fork.atRevision', `${sourceId} records ${sources.get(e.data.childId)}'s end before the cut, but that child's stream does not`);
      record({ type: 'ChildFinished', data: { ...e.data, reclaim: reclaimOf(c.children[e.data.childId]!.budget, child.context.budget) } });
      continue;
    }
    // An ended child gives back what its fork's ledger has left, not what its source had.
    if (endings.has(e.type)) {
      record({ ...e, data: { ...e.data, returned: available(c.budget) } } as DomainEvent);
      continue;
    }
    record(readdressed(e, ids));
  }
  // A send_message call the cut left running, to an agent outside the subtree, is not made:
  // the fork never writes into another tree (its model reads why).
  for (const [toolUseId, t] of Object.entries(c.pendingTools)) {
    const to = (t.input as { to?: unknown } | null)?.to;
    if (t.name !== 'send_message' || (typeof to === 'string' && sources.has(to))) continue;
    record({ type: 'ToolReturned', data: { toolUseId, name: t.name, output: `not sent: ${String(to)} is not an agent of this fork (a fork carries this call from its source, and never writes into another tree); send it again if it should go there`, isError: true } });
  }
  openings[mine] = { spawned, events, endUnrecorded: false };
  for (const [childId, child] of children) {
    if (child.context.result && c.children[childId]?.status === 'live') openings[child.at] = { ...openings[child.at]!, endUnrecorded: true };
  }
  return c;
}

/**
 * The most a history had handed to its children at once (delegated to the live ones): the least
 * allocation its fork fits in, since nothing the source spent is charged to it and an ended
 * child's fork gives its whole allocation back.
 */
function peakHandedDown(history: readonly DomainEvent[]): number {
  const live = new Map<string, number>();
  let held = 0;
  let peak = 0;
  for (const e of history) {
    if (e.type === 'ChildSpawned') {
      live.set(e.data.childId, e.data.budget);
      held += e.data.budget;
      peak = Math.max(peak, held);
    } else if (e.type === 'ChildFinished') {
      held -= live.get(e.data.childId) ?? 0;
      live.delete(e.data.childId);
    }
  }
  return peak;
}

/**
 * A child's fork, cut where walkSubtree says. Null when the source never opened its stream (a
 * crash between the two appends on a store without chained appends): the parent's fork keeps
 * the source's record, and the fork's child is opened from it as after such a crash.
 */
function forkChild(planning: Planning, openings: ForkOpening[], sourceId: string, id: string, parent: AgentContext): { spec: AgentSpec; context: AgentContext } | null {
  if (!planning.streams.has(sourceId)) return null;
  let spec: AgentSpec | null = null;
  const context = forkOne(planning, openings, sourceId, id, parent, (cut) => {
    return (spec = specOf(cut, cut.history.some((e) => endings.has(e.type))));
  });
  return { spec: spec!, context };
}

/**
 * The fork's id of each child `events` spawn: a model's spawn_agent call derives it from the
 * call (spawning.ts), a workflow's node from the node and attempt (workflowRuntime childIdFor);
 * a child spawned through the API gets one derived from its source's, so a retried fork names
 * it alike.
 */
function forkChildIds(events: readonly DomainEvent[], forkId: string, derive: (scope: string, name: string) => string, whole: readonly DomainEvent[]): Map<string, string> {
  // A node's attempt is recorded by its spawn (ChildSpawned v4), or (before v4) in a NodeStarted
  // beside it, maybe just past a cut between the two.
  const attempts = new Map<string, number>();
  for (const e of whole) {
    if (e.type === 'NodeStarted') attempts.set(e.data.childId, e.data.attempt);
    if (e.type === 'ChildSpawned' && e.data.nodeAttempt !== null) attempts.set(e.data.childId, e.data.nodeAttempt);
  }
  const ids = new Map<string, string>();
  for (const e of events) {
    if (e.type !== 'ChildSpawned') continue;
    const { childId, toolUseId, nodeId } = e.data;
    const attempt = attempts.get(childId);
    const id = toolUseId ? derive(forkId, toolUseId) : nodeId && attempt ? derive(forkId, `node:${nodeId}#${attempt}`) : derive(forkId, `fork:${childId}`);
    ids.set(childId, id);
  }
  return ids;
}
