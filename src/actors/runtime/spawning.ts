import { eventSchemas, type DomainEvent, type EventData } from '../../events/catalogue.js';
import type { EventToAppend } from '../../events/envelope.js';
import { InvalidInput, InvalidTransition, NotFound, isWrongExpectedRevision } from '../../errors.js';
import { parseInput } from '../../validation.js';
import { isTerminalStatus, statusOf } from '../agentMachine.js';
import { checkDelegate } from '../budget.js';
import { LiveActor } from '../liveActor.js';
import { fold } from '../replay.js';
import { SpawnConfigSchema, type ParsedSpawnConfig, type SpawnConfig } from '../spawnConfig.js';
import { agentSpawned, childSpawned, recordedSpec, resolveSpec, type SpawnExtra } from '../spawnSpec.js';
import { agentStream } from '../streams.js';
import { adopt, loadActor } from './actorCache.js';
import { execute } from './commandExecutor.js';
import { ensureParentNotified } from './ending.js';
import type { RuntimeContext } from './runtimeContext.js';

/** Spawns a root agent. */
export async function spawnRoot(rt: RuntimeContext, config: SpawnConfig, extra: Partial<EventData<'AgentSpawned'>> = {}): Promise<string> {
  const c = parseInput(SpawnConfigSchema, config, 'spawn');
  const spec = resolveSpec(c, null, rt.deps.config, {});
  checkWorkspaceAvailable(rt, c, spec.workspace);
  const id = c.id ?? rt.deps.ids.uuid();
  await openStream(rt, agentSpawned(id, null, { ...spec, ...extra }));
  return id;
}

/** Spawns a child under `parentId`: the delegation is recorded in the parent first. */
export async function spawnChild(rt: RuntimeContext, parentId: string, config: SpawnConfig, extra: SpawnExtra & { toolUseId?: string } = {}): Promise<string> {
  const c = parseInput(SpawnConfigSchema, config, 'spawn');
  checkWorkspaceAvailable(rt, c, resolveSpec(c, null, rt.deps.config, extra).workspace);
  const childId = c.id ?? (extra.toolUseId ? rt.deps.ids.derive(parentId, extra.toolUseId) : rt.deps.ids.uuid());
  if (rt.opening.has(childId)) {
    await rt.opening.get(childId);
    return childId;
  }
  let done!: () => void;
  rt.opening.set(childId, new Promise<void>((r) => (done = r)));
  try {
    await execute(rt, parentId, (s) => {
      const ctx = s.context;
      if (isTerminalStatus(statusOf(s.value))) throw new InvalidTransition(parentId, statusOf(s.value), 'spawn');
      if (ctx.children[childId]) return []; // a retried spawn (same tool call)
      const refusal = checkDelegate(parentId, ctx.budget, c.budget);
      if (refusal) throw refusal;
      return [
        { type: 'ChildSpawned', data: childSpawned(childId, resolveSpec(c, ctx, rt.deps.config, extra), extra.toolUseId) },
        { type: 'BudgetDelegated', data: { childId, amount: c.budget } },
      ];
    });
    await openChild(rt, parentId, childId);
  } finally {
    rt.opening.delete(childId);
    done();
  }
  return childId;
}

/**
 * Opens `childId`'s stream as its parent's ChildSpawned records it: the same event on the first
 * try and on one after a crash between the two appends.
 */
export async function openChild(rt: RuntimeContext, parentId: string, childId: string): Promise<void> {
  const parent = (await loadActor(rt, parentId)).snapshot.context;
  const spec = recordedSpec(parent, childId, rt.deps.config);
  if (!spec) throw new NotFound('agent', childId);
  await openStream(rt, agentSpawned(childId, parent, spec));
}

/** Opens a missing child stream (crash between two appends) and makes sure it runs. */
export async function ensureChildRunning(rt: RuntimeContext, parentId: string, childId: string): Promise<void> {
  const child = await loadActor(rt, childId).catch(async (err: unknown) => {
    if (!(err instanceof NotFound)) throw err;
    await openChild(rt, parentId, childId);
    return loadActor(rt, childId);
  });
  if (!child.snapshot.context.runRequested && statusOf(child.snapshot.value) === 'spawned') {
    await execute(rt, childId, (s) => (statusOf(s.value) === 'spawned' && !s.context.runRequested ? [{ type: 'AgentRunRequested', data: {} }] : []), { causationId: `agent:${parentId}` });
  }
  if (isTerminalStatus(statusOf(child.snapshot.value))) await ensureParentNotified(rt, childId);
}

/** A worktree asked for where there is no repository is refused, never silently skipped. */
function checkWorkspaceAvailable(rt: RuntimeContext, c: ParsedSpawnConfig, request: unknown): void {
  if (request && !rt.deps.workspaces) {
    throw new InvalidInput('workspace', 'no git repository to make a worktree in: run inside a git checkout, or set WORKSPACE_REPO (createAgentSystem: workspace.repo)');
  }
  // One place for a system's worktrees (start-up reconciles that folder): a different one is
  // refused, not silently ignored.
  const asked = c.workspaceConfig?.basePath;
  const configured = rt.deps.config.worktreeBase?.path ?? null;
  if (asked !== undefined && request && !rt.deps.config.worktreeBase?.accepts(asked)) {
    throw new InvalidInput('workspaceConfig.basePath', `this system puts worktrees ${configured ? `under ${configured}` : 'in its default folder beside the repository'}; set WORKSPACE_BASE_PATH (createAgentSystem: workspace.basePath) to ${JSON.stringify(asked)} to put them there`);
  }
}

/** Writes an agent's first event. Idempotent: an existing stream for the same agent is fine. */
async function openStream(rt: RuntimeContext, data: EventData<'AgentSpawned'>): Promise<void> {
  const leased = await rt.deps.index.register({ agentId: data.agentId, parentId: data.parentId, rootId: data.rootId }, rt.worker?.leaseForNew(data.agentId));
  const event: DomainEvent = { type: 'AgentSpawned', data };
  const envelope: EventToAppend = {
    id: rt.deps.ids.derive('spawn', data.agentId),
    type: event.type,
    data,
    metadata: { correlationId: data.rootId, causationId: data.parentId ? `agent:${data.parentId}` : 'api:spawn', schemaVersion: eventSchemas.AgentSpawned.version, at: rt.deps.clock.now().toISOString() },
  };
  try {
    await rt.deps.store.append(agentStream(data.agentId), [envelope], { expectedRevision: 'no_stream' });
  } catch (err) {
    // Not opened here: the room taken for it goes back (whoever opened it hosts it).
    rt.worker?.release(data.agentId);
    if (isWrongExpectedRevision(err) && data.parentId) return; // already opened (recovery retry)
    if (isWrongExpectedRevision(err)) throw new InvalidInput('spawn.id', `agent ${data.agentId} already exists`);
    throw err;
  }
  if (rt.worker) await rt.worker.adopt(data.agentId, leased);
  const snapshot = fold([event]);
  if (!rt.actors.has(data.agentId)) rt.actors.set(data.agentId, new LiveActor(data.agentId, adopt(rt, snapshot), 0n));
}
