import { z } from 'zod';
import type { EventData } from '../../events/catalogue.js';
import { AgentId, Tokens } from '../../events/schemas/common.js';
import { parseRecorded } from '../../events/upcast.js';
import { InvalidInput, NotFound } from '../../errors.js';
import { parseInput } from '../../validation.js';
import { forkHistory } from '../forkHistory.js';
import { agentStream } from '../streams.js';
import { toDomain } from './actorCache.js';
import { startedEvent } from './runStart.js';
import type { RuntimeContext } from './runtimeContext.js';
import { appendOpening, prepareOpening } from './streamOpening.js';
import { initialContext } from '../agentContext.js';

/** What `fork` accepts (zod: it comes from the API and the CLI). */
export const ForkOptionsSchema = z.strictObject({
  /** The source's state after this event of its stream is the fork's. */
  atRevision: z.number().int().nonnegative(),
  /** The fork's allocation; default: the source's original one. */
  budget: Tokens.positive().optional(),
  /** Another model for the fork's calls from the cut on. */
  model: z.string().min(1).max(200).optional(),
  /** Replaces the source's instructions. */
  instructions: z.string().max(100_000).optional(),
  /** The fork's id; default: a new uuid. */
  id: AgentId.optional(),
});
export type ForkOptions = z.input<typeof ForkOptionsSchema>;

/**
 * Forks `sourceId` as it was at `atRevision`: a new root agent whose stream opens, in one append,
 * with its AgentSpawned (carrying `forkedFrom`), its start and the source's conversation up to the
 * cut. The source's streams are only read. One append: a crash leaves no fork or a whole one.
 */
export async function forkAgent(rt: RuntimeContext, sourceId: string, options: ForkOptions): Promise<string> {
  const o = parseInput(ForkOptionsSchema, options, 'fork');
  const recorded = await rt.deps.store.readStream(agentStream(sourceId), { limit: o.atRevision + 1 });
  if (recorded.length === 0) throw new NotFound('agent', sourceId);
  const events = recorded.map((r) => toDomain(parseRecorded(r)));
  const { history, spentBefore, baseCommit } = forkHistory(events, o.atRevision);
  const spawned = events[0];
  if (spawned?.type !== 'AgentSpawned') throw new InvalidInput('fork.sourceId', 'the stream does not open with AgentSpawned');
  const src = spawned.data;
  if (src.kind !== 'agent') throw new InvalidInput('fork.sourceId', 'forking a workflow agent is not supported yet');
  if (src.workspace && !rt.deps.workspaces) throw new InvalidInput('fork.sourceId', 'the source has a worktree and this system has no git repository to make the fork\'s in');
  const id = o.id ?? rt.deps.ids.uuid();
  const { forkedFrom: _sourceOrigin, nodeId: _node, ...inherited } = src;
  const data: EventData<'AgentSpawned'> = {
    ...inherited,
    agentId: id,
    parentId: null,
    rootId: id,
    depth: 0,
    budget: o.budget ?? src.budget,
    model: o.model ?? src.model,
    ...(o.instructions !== undefined ? { instructions: o.instructions } : {}),
    // Its own worktree (branch agents/<id>), from the source's last recorded commit at the cut.
    workspace: src.workspace ? (baseCommit ? { base: baseCommit } : src.workspace) : null,
    forkedFrom: { sourceId, sourceRevision: o.atRevision, sourcePosition: String(recorded[o.atRevision]?.position ?? 0n), spentBefore },
  };
  await appendOpening(rt, await prepareOpening(rt, data, false, [startedEvent(rt, initialContext(data)), ...history]));
  // Started in its opening: what is due (the re-issued call, a pending tool) runs here.
  rt.reconcileSoon(id);
  return id;
}
