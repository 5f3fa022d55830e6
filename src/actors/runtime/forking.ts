import { z } from 'zod';
import { AgentId, Tokens } from '../../events/schemas/common.js';
import { parseRecorded } from '../../events/upcast.js';
import { NotAppended } from '../../events/appendChain.js';
import { appendChainOwn } from './ownWrites.js';
import type { AppendOutcome } from '../../events/eventStore.js';
import { InvalidInput, NotFound } from '../../errors.js';
import { isStorableText, NOT_STORABLE, parseInput, storableText } from '../../validation.js';
import { forkRevision, planFork, type ForkOpening, type SourceStream } from '../forkPlan.js';
import { agentStream } from '../streams.js';
import { toDomain } from './actorCache.js';
import type { RecordedEvent } from '../../events/envelope.js';
import type { EventOf } from '../../events/catalogue.js';
import { startedEvent } from './runStart.js';
import type { RuntimeContext } from './runtimeContext.js';
import { prepareOpening, type PreparedOpening } from './streamOpening.js';
import type { AgentContext } from '../agentContext.js';
import { isTerminalStatus, statusOf } from '../agentMachine.js';
import { checkDelegate } from '../budget.js';
import { childSpawned, type AgentSpec } from '../spawnSpec.js';
import { execute } from './commandExecutor.js';
import { refuseTakenId } from './spawning.js';

/** What `fork` accepts (zod: it comes from the API and the CLI). */
export const ForkOptionsSchema = z.strictObject({
  /** The source's state after this event of its stream is the fork's (a number or a bigint, as `replay` takes). */
  atRevision: z.union([z.number().int().nonnegative(), z.bigint().nonnegative().max(BigInt(Number.MAX_SAFE_INTEGER)).transform(Number)]),
  /** The fork's allocation; default: the source's original one. */
  budget: Tokens.positive().optional(),
  /** Another model for the fork's calls from the cut on. */
  model: z.string().min(1, 'must not be empty').max(200).refine(isStorableText, NOT_STORABLE).optional(),
  /** Replaces the source's instructions. */
  instructions: storableText(100_000).optional(),
  /** Fork as a new child of this agent (its budget is delegated from it); default: a new root. */
  under: AgentId.optional(),
  /** The fork's id; default: a new uuid. */
  id: AgentId.optional(),
});
export type ForkOptions = z.input<typeof ForkOptionsSchema>;

/** Agents a fork may copy at once: a subtree past this is refused rather than read whole. */
const MAX_FORKED_AGENTS = 1_000;

/**
 * Forks `sourceId` as it was at `atRevision`, with its subtree (forkPlan.ts): a new agent whose
 * stream opens with its AgentSpawned (carrying `forkedFrom`), its start and the source's past up
 * to the cut, and the same for every child it had by then, cut at the same point. All the
 * openings go in one chained append (one commit on Postgres and PGlite): a crash leaves no fork
 * or a whole one. The source's streams are only read.
 */
export async function forkAgent(rt: RuntimeContext, sourceId: string, options: ForkOptions): Promise<string> {
  const o = parseInput(ForkOptionsSchema, options, 'fork');
  const streams = await readSubtree(rt, sourceId, o.atRevision);
  if (o.under !== undefined) await refuseUnderSource(rt, sourceId, o.under);
  const id = o.id ?? rt.deps.ids.uuid();
  const plan = (parent: AgentContext | null): ForkOpening[] => {
    const openings = planFork({
      sourceId,
      atRevision: o.atRevision,
      forkId: id,
      streams,
      overrides: { budget: o.budget, model: o.model, instructions: o.instructions },
      parent,
      derive: (scope, name) => rt.deps.ids.derive(scope, name),
      started: (c) => startedEvent(rt, c),
    });
    openings.forEach((op) => checkHostable(rt, op));
    return openings;
  };
  const asRoot = plan(null);
  await refuseMissingBaseCommits(rt, asRoot);
  // A chosen id, and so the ids its children's forks derive from it, must be new: a stream already
  // there would be taken for that opening, done (under a parent, recorded as its child).
  if (o.id !== undefined) for (const op of asRoot) await refuseTakenId(rt, op.spawned.agentId, 'fork.id');
  const openings = o.under === undefined ? asRoot : await openUnder(rt, o.under, id, plan);
  if (o.under === undefined) await appendOpenings(rt, await Promise.all(openings.map((op) => prepare(rt, op))));
  // Started in their openings: what is due (a re-issued call, a pending tool, a node to start,
  // an ended child's report to its parent) runs here.
  for (const op of openings) rt.reconcileSoon(op.spawned.agentId);
  return id;
}

/**
 * The source's stream and, below it, every child's stream its history names by the cut (read
 * whole: forkPlan cuts each at the cut's global position).
 */
async function readSubtree(rt: RuntimeContext, sourceId: string, atRevision: number): Promise<Map<string, SourceStream>> {
  const streams = new Map<string, SourceStream>();
  const read = async (agentId: string): Promise<SourceStream | null> => {
    const recorded = await rt.deps.store.readStream(agentStream(agentId));
    if (recorded.length === 0) return null;
    return { events: recorded.map((r) => toDomain(parseRecorded(r))), positions: recorded.map((r) => r.position) };
  };
  const root = await read(sourceId);
  if (!root) throw new NotFound('agent', sourceId);
  streams.set(sourceId, root);
  const cutPosition = root.positions[forkRevision(root.events, atRevision)];
  let level = [sourceId];
  while (level.length > 0 && cutPosition !== undefined) {
    const next: string[] = [];
    for (const parentId of level) {
      const parent = streams.get(parentId)!;
      parent.events.forEach((e, i) => {
        if (e.type === 'ChildSpawned' && parent.positions[i]! <= cutPosition) next.push(e.data.childId);
      });
    }
    if (streams.size + next.length > MAX_FORKED_AGENTS) throw new InvalidInput('fork.sourceId', `its subtree has more than ${MAX_FORKED_AGENTS} agents by the cut: fork a smaller part of it`);
    const read_ = await Promise.all(next.map(async (childId) => [childId, await read(childId)] as const));
    for (const [childId, s] of read_) if (s) streams.set(childId, s);
    level = read_.flatMap(([childId, s]) => (s ? [childId] : []));
  }
  return streams;
}

/**
 * A fork under its source, or under an agent below it, would write into the source's tree (its
 * parent's ChildSpawned): refused. Walks up from `under` to its root.
 */
async function refuseUnderSource(rt: RuntimeContext, sourceId: string, under: string): Promise<void> {
  for (let id: string | null = under, hops = 0; id !== null && hops < 10_000; hops++) {
    if (id === sourceId) throw new InvalidInput('fork.under', `${under} is ${under === sourceId ? 'the source' : `in the source's subtree`}: the source is only read, so its fork goes under another agent, or is a new root`);
    const opening: RecordedEvent | undefined = (await rt.deps.store.readStream(agentStream(id), { limit: 1 }))[0];
    if (!opening) throw new NotFound('agent', id);
    id = (toDomain(parseRecorded(opening)) as EventOf<'AgentSpawned'>).data.parentId;
  }
}

/**
 * A fork whose worktree would start at a commit this repository does not have is refused before
 * anything is written: accepted, it made the fork and its children, then failed each at its
 * worktree, three tries apiece (a new user forking a demo run, whose repository the demo deletes).
 */
async function refuseMissingBaseCommits(rt: RuntimeContext, openings: readonly ForkOpening[]): Promise<void> {
  const ws = rt.deps.workspaces;
  if (!ws?.hasCommit) return;
  for (const op of openings) {
    const base = typeof op.spawned.workspace === 'object' && op.spawned.workspace !== null ? op.spawned.workspace.base : undefined;
    if (base === undefined || !/^[0-9a-f]{40,64}$/.test(base) || (await ws.hasCommit(base))) continue;
    const who = op.spawned.depth > 0 && op.spawned.forkedFrom ? `the source's subtree (${op.spawned.forkedFrom.sourceId})` : 'the source';
    throw new InvalidInput('fork.sourceId', `${who} worked in a git worktree at commit ${base.slice(0, 12)}, which is not in this repository: fork it in the repository it ran in (a demo's repository is removed when the demo ends)`);
  }
}

/** A fork this system could not run is refused, not left waiting for a host in vain. */
function checkHostable(rt: RuntimeContext, op: ForkOpening): void {
  const { agentId, workspace, tools = [], forkedFrom } = op.spawned;
  const who = forkedFrom?.sourceId === undefined ? agentId : `the source${op.spawned.depth > 0 ? `'s subtree (${forkedFrom.sourceId})` : ''}`;
  if (workspace && !rt.deps.workspaces) throw new InvalidInput('fork.sourceId', `${who} works in a git worktree, and this system has no git repository to make the fork's worktree in: run inside the repository, or set WORKSPACE_REPO (createAgentSystem: workspace.repo)`);
  const missing = tools.filter((t) => !rt.deps.tools.get(t));
  if (missing.length > 0) throw new InvalidInput('fork.sourceId', `${who} may call ${missing.join(', ')}, which this system has not registered (createAgentSystem({ tools }))`);
}

const prepare = (rt: RuntimeContext, op: ForkOpening): Promise<PreparedOpening> => prepareOpening(rt, op.spawned, false, op.events);

/** The openings in one chain, root first: each child's after its parent's record of it. */
async function appendOpenings(rt: RuntimeContext, prepared: readonly PreparedOpening[]): Promise<void> {
  let outcomes: AppendOutcome[];
  try {
    outcomes = await appendChainOwn(rt, prepared.map((p) => p.append));
  } catch (err) {
    await Promise.all(prepared.map((p) => p.settle(null)));
    throw err;
  }
  // Each with its outcome (one not tried: not sent); the first failure is thrown.
  const results = await Promise.allSettled(prepared.map((p, i) => {
    const outcome = outcomes[i]!;
    return p.settle(!outcome.ok && outcome.error instanceof NotAppended ? null : outcome);
  }));
  const failed = results.find((r) => r.status === 'rejected');
  if (failed) throw failed.reason;
}

/**
 * The fork as a child of `parentId`: the parent's ChildSpawned (delegating the fork's budget) and
 * the fork's openings go in one commit where the store chains appends. Where it does not
 * (EventStoreDB), a crash between the two leaves a child that recovery opens from the parent's
 * record alone: a plain child of the same spec, without the carried past.
 */
async function openUnder(rt: RuntimeContext, parentId: string, id: string, plan: (parent: AgentContext) => ForkOpening[]): Promise<ForkOpening[]> {
  let openings: ForkOpening[] = [];
  await execute(rt, parentId, (s) => {
    if (isTerminalStatus(statusOf(s.value))) throw new InvalidInput('fork.under', `agent ${parentId} has ended (${statusOf(s.value)}): a fork goes under a running agent, or is a new root`);
    if (s.context.children[id]) throw new InvalidInput('fork.id', `agent ${id} already exists`);
    openings = plan(s.context);
    const { agentId: _a, parentId: _p, rootId: _r, depth: _d, ...spec } = openings[0]!.spawned;
    const refusal = checkDelegate(parentId, s.context.budget, spec.budget);
    if (refusal) throw refusal;
    return [{ type: 'ChildSpawned', data: childSpawned(id, spec as AgentSpec) }];
  }, {
    alongside: () => Promise.all(openings.map((op) => prepare(rt, op))),
  });
  return openings;
}
