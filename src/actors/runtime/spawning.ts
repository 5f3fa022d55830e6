import { eventSchemas, type DomainEvent, type EventData } from '../../events/catalogue.js';
import { pureTransition } from '../pureTransition.js';
import type { EventToAppend } from '../../events/envelope.js';
import { IdempotencyConflict, InvalidInput, InvalidTransition, NotFound, isWrongExpectedRevision } from '../../errors.js';
import { parseInput } from '../../validation.js';
import type { AgentContext } from '../agentContext.js';
import { agentMachine, isTerminalStatus, statusOf } from '../agentMachine.js';
import { checkDelegate } from '../budget.js';
import { LiveActor } from '../liveActor.js';
import { foldResting } from '../replay.js';
import { SpawnConfigSchema, type ParsedSpawnConfig, type SpawnConfig } from '../spawnConfig.js';
import { agentSpawned, childSpawned, recordedSpec, resolveSpec, type SpawnExtra } from '../spawnSpec.js';
import { agentStream } from '../streams.js';
import { adopt, loadActor } from './actorCache.js';
import { execute } from './commandExecutor.js';
import { ensureParentNotified } from './ending.js';
import { requestRun, slotForStart, startedEvent } from './runStart.js';
import { turnEvents } from './modelTurn.js';
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

/** How a child is spawned, past its spec. */
export interface ChildSpawnOptions extends SpawnExtra {
  /** The model's tool call that spawns it (its id derives the child's). */
  readonly toolUseId?: string;
  /** Run it at once: its stream opens with the run request (and the start, if a slot is free). */
  readonly run?: boolean;
  /**
   * More of the parent's own events, decided in the same decision on its state after the spawn
   * and stored in the same append (a workflow's NodeStarted).
   */
  readonly alsoRecord?: (parent: AgentContext) => DomainEvent[];
}

/** Spawns a child under `parentId`: the delegation is recorded in the parent first. */
export async function spawnChild(rt: RuntimeContext, parentId: string, config: SpawnConfig, options: ChildSpawnOptions = {}): Promise<string> {
  const { toolUseId, run = false, alsoRecord, ...extra } = options;
  const c = parseInput(SpawnConfigSchema, config, 'spawn');
  checkWorkspaceAvailable(rt, c, resolveSpec(c, null, rt.deps.config, extra).workspace);
  const childId = c.id ?? (toolUseId ? rt.deps.ids.derive(parentId, toolUseId) : rt.deps.ids.uuid());
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
      const events: DomainEvent[] = [
        { type: 'ChildSpawned', data: childSpawned(childId, resolveSpec(c, ctx, rt.deps.config, extra), toolUseId) },
        { type: 'BudgetDelegated', data: { childId, amount: c.budget } },
      ];
      if (!alsoRecord) return events;
      let after = s;
      for (const e of events) after = pureTransition(agentMachine, after, e)[0];
      return [...events, ...alsoRecord(after.context)];
    });
    await openChild(rt, parentId, childId, run);
  } finally {
    rt.opening.delete(childId);
    done();
  }
  // Opened before (a retried spawn): the run is asked for as for any agent. Only once the
  // opening is over: loading the child waits for it, and an ended child is no longer cached.
  if (run) await requestRun(rt, childId, `agent:${parentId}`);
  return childId;
}

/**
 * Opens `childId`'s stream as its parent's ChildSpawned records it: the same event on the first
 * try and on one after a crash between the two appends.
 */
export async function openChild(rt: RuntimeContext, parentId: string, childId: string, run = false): Promise<void> {
  const parent = (await loadActor(rt, parentId)).snapshot.context;
  const spec = recordedSpec(parent, childId, rt.deps.config);
  if (!spec) throw new NotFound('agent', childId);
  await openStream(rt, agentSpawned(childId, parent, spec), run);
}

/** Opens a missing child stream (crash between two appends) and makes sure it runs. */
export async function ensureChildRunning(rt: RuntimeContext, parentId: string, childId: string): Promise<void> {
  const child = await loadActor(rt, childId).catch(async (err: unknown) => {
    if (!(err instanceof NotFound)) throw err;
    await openChild(rt, parentId, childId, true);
    return loadActor(rt, childId);
  });
  if (!child.snapshot.context.runRequested && statusOf(child.snapshot.value) === 'spawned') await requestRun(rt, childId, `agent:${parentId}`);
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

/**
 * Writes an agent's first event. Idempotent: an existing stream for the same agent is fine.
 * `run`: the run request goes in the same append, and the start too when this process hosts the
 * agent and a concurrency slot is free now (taken first), with its first model call: one commit
 * opens a child and asks for its first call.
 */
async function openStream(rt: RuntimeContext, data: EventData<'AgentSpawned'>, run = false): Promise<void> {
  const id = data.agentId;
  const lease = rt.worker?.leaseForNew(id);
  // Where the index follows the events, AgentSpawned writes the entry, leased as its metadata says.
  const follows = rt.deps.index.followsEvents;
  let leased = follows ? lease !== undefined : await rt.deps.index.register({ agentId: id, parentId: data.parentId, rootId: data.rootId }, lease);
  const opened: DomainEvent = { type: 'AgentSpawned', data };
  const events: DomainEvent[] = [opened];
  let snapshot = foldResting([opened]);
  const slot = slotForStart(rt, id, run && (!rt.worker || leased));
  const record = (e: DomainEvent): void => {
    if (!snapshot.can(e)) throw new InvalidTransition(id, JSON.stringify(snapshot.value), e.type);
    snapshot = pureTransition(agentMachine, snapshot, e)[0];
    events.push(e);
  };
  try {
    if (run) record({ type: 'AgentRunRequested', data: {} });
    if (slot.taken) record(startedEvent(rt, snapshot.context));
    // Started here with nothing to open first: its first model call is asked for in the same
    // append (what decideNext would append next, one commit later). A failure (no budget for a
    // turn) is left to decideNext, so an opening never ends an agent.
    if (slot.taken && data.kind === 'agent' && !data.workspace) {
      const turn = await turnEvents(rt, snapshot);
      if (turn.some((e) => e.type === 'ModelRequested')) turn.forEach(record);
    }
  } catch (err) {
    slot.undo();
    throw err;
  }
  const at = rt.deps.clock.now().toISOString();
  const causationId = data.parentId ? `agent:${data.parentId}` : 'api:spawn';
  const envelopes: EventToAppend[] = events.map((e, i) => ({
    id: i === 0 ? rt.deps.ids.derive('spawn', id) : rt.deps.ids.uuid(),
    type: e.type,
    data: e.data,
    metadata: { correlationId: data.rootId, causationId, schemaVersion: eventSchemas[e.type].version, at, ...(i === 0 && follows && lease ? { leaseTo: lease } : {}) },
  }));
  try {
    // Idempotent: stored before (a retry), so the entry was not written now with this lease.
    if ((await rt.deps.store.append(agentStream(id), envelopes, { expectedRevision: 'no_stream' })).idempotent) leased &&= !follows;
  } catch (err) {
    slot.undo();
    // Already opened, by an opening batch of another shape (with or without the run request and
    // the start: a spawn run again, recovery racing a run). Its first event's id is derived from
    // the agent's, so the store refuses it as a different batch under that id. A batch of the
    // same shape is an idempotent success instead: both are treated alike, as before.
    if (err instanceof IdempotencyConflict && data.parentId) {
      if (rt.worker) await rt.worker.adopt(id, leased && !follows);
      return;
    }
    // Not opened here: the room taken for it goes back (whoever opened it hosts it).
    rt.worker?.release(id);
    if (isWrongExpectedRevision(err) && data.parentId) return; // already opened (recovery retry)
    if (isWrongExpectedRevision(err)) throw new InvalidInput('spawn.id', `agent ${id} already exists`);
    throw err;
  }
  if (rt.worker) await rt.worker.adopt(id, leased);
  if (!rt.actors.has(id)) rt.actors.set(id, new LiveActor(id, adopt(rt, snapshot), BigInt(events.length - 1)));
  // Nothing ran the effects of the events folded above: what they made due runs now.
  if (run) rt.reconcileSoon(id);
}
