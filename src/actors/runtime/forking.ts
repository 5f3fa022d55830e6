import { z } from 'zod';
import { AgentId, Tokens } from '../../events/schemas/common.js';
import { parseRecorded } from '../../events/upcast.js';
import { InvalidInput, InvalidTransition, NotFound } from '../../errors.js';
import { parseInput } from '../../validation.js';
import { forkHistory } from '../forkHistory.js';
import { agentStream } from '../streams.js';
import { toDomain } from './actorCache.js';
import { startedEvent } from './runStart.js';
import type { RuntimeContext } from './runtimeContext.js';
import { appendOpening, prepareOpening, type PreparedOpening } from './streamOpening.js';
import { initialContext, type AgentContext } from '../agentContext.js';
import { isTerminalStatus, statusOf } from '../agentMachine.js';
import { checkDelegate } from '../budget.js';
import { agentSpawned, childSpawned, type AgentSpec } from '../spawnSpec.js';
import { execute } from './commandExecutor.js';

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
  /** Fork as a new child of this agent (its budget is delegated from it); default: a new root. */
  under: AgentId.optional(),
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
  const { source: src, history, spentBefore, baseCommit } = forkHistory(events, o.atRevision);
  if (src.kind !== 'agent') throw new InvalidInput('fork.sourceId', 'forking a workflow agent is not supported yet');
  if (src.workspace && !rt.deps.workspaces) throw new InvalidInput('fork.sourceId', 'the source has a worktree and this system has no git repository to make the fork\'s in');
  // As for a spawn by name: a tool no process has would leave the fork waiting for a host in vain.
  const missing = (src.tools ?? []).filter((t) => !rt.deps.tools.get(t));
  if (missing.length > 0) throw new InvalidInput('fork.sourceId', `the source may call ${missing.join(', ')}, which this system has not registered (createAgentSystem({ tools }))`);
  const id = o.id ?? rt.deps.ids.uuid();
  const { forkedFrom: _sourceOrigin, nodeId: _node, agentId: _a, parentId: _p, rootId: _r, depth: _d, ...inherited } = src;
  const spec: AgentSpec = {
    ...inherited,
    budget: o.budget ?? src.budget,
    model: o.model ?? src.model,
    ...(o.instructions !== undefined ? { instructions: o.instructions } : {}),
    // Its own worktree (branch agents/<id>), from the source's last recorded commit at the cut.
    workspace: src.workspace ? (baseCommit ? { base: baseCommit } : src.workspace) : null,
    forkedFrom: { sourceId, sourceRevision: o.atRevision, sourcePosition: String(recorded[o.atRevision]?.position ?? 0n), spentBefore },
  };
  // Started in its opening, then its past: the machine checks every carried event.
  const open = (parent: AgentContext | null) => {
    const data = agentSpawned(id, parent, spec);
    return prepareOpening(rt, data, false, [startedEvent(rt, initialContext(data)), ...history]);
  };
  if (o.under === undefined) await appendOpening(rt, await open(null));
  else await openUnder(rt, o.under, id, spec, open);
  // Started in its opening: what is due (the re-issued call, a pending tool) runs here.
  rt.reconcileSoon(id);
  return id;
}

/**
 * The fork as a child of `parentId`: the parent's ChildSpawned (delegating the fork's budget) and
 * the fork's opening go in one commit where the store chains appends. Where it does not
 * (EventStoreDB), a crash between the two leaves a child that recovery opens from the parent's
 * record alone: a plain child of the same spec, without the carried past.
 */
async function openUnder(rt: RuntimeContext, parentId: string, id: string, spec: AgentSpec, open: (parent: AgentContext) => Promise<PreparedOpening>): Promise<void> {
  await execute(rt, parentId, (s) => {
    if (isTerminalStatus(statusOf(s.value))) throw new InvalidTransition(parentId, statusOf(s.value), 'fork under');
    if (s.context.children[id]) throw new InvalidInput('fork.id', `agent ${id} already exists`);
    const refusal = checkDelegate(parentId, s.context.budget, spec.budget);
    if (refusal) throw refusal;
    return [{ type: 'ChildSpawned', data: childSpawned(id, spec) }];
  }, { alongside: (next) => open(next.context) });
}
