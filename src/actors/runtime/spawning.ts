import { type DomainEvent, type EventData } from '../../events/catalogue.js';
import { InvalidInput, InvalidTransition, NotFound } from '../../errors.js';
import { parseInput } from '../../validation.js';
import { isTerminalStatus, statusOf } from '../agentMachine.js';
import type { AgentSnapshot } from '../replay.js';
import { SpawnConfigSchema, type ParsedSpawnConfig, type SpawnConfig } from '../spawnConfig.js';
import { agentSpawned, recordedSpec, resolveSpec, type SpawnExtra } from '../spawnSpec.js';
import { agentStream } from '../streams.js';
import { loadActor } from './actorCache.js';
import { childSpawnedEvent } from './childSpawnedEvent.js';
import { execute, type Alongside } from './commandExecutor.js';
import { ensureParentNotified } from './ending.js';
import { requestRun } from './runStart.js';
import type { RuntimeContext } from './runtimeContext.js';
import { spawnsAlong } from './spawnsAlong.js';
import { appendOpening, prepareOpening, type FirstSpawns } from './streamOpening.js';

/** How a root is spawned, past its config. */
export interface RootSpawnOptions {
  /**
   * Run it at once: its opening holds the run request, and where this process can start it now,
   * its start and what the start does first (a workflow's first nodes, an agent's first model
   * call), in one commit instead of a spawn's and a start's.
   */
  readonly start?: boolean;
}

/**
 * Spawns a root agent. `alsoRecord`: more of its own events, stored in its opening append after
 * AgentSpawned (a workflow's plan).
 */
export async function spawnRoot(rt: RuntimeContext, config: SpawnConfig, extra: Partial<EventData<'AgentSpawned'>> = {}, alsoRecord: readonly DomainEvent[] = [], options: RootSpawnOptions = {}): Promise<string> {
  const c = parseInput(SpawnConfigSchema, config, 'spawn');
  registerTools(rt, c);
  const resolved = resolveSpec(c, null, rt.deps.config, {});
  // Made in this process's repository, and only there: its children's in the same (spawnSpec).
  const repo = rt.deps.workspaces?.repo;
  const spec = resolved.workspace && repo ? { ...resolved, workspace: { ...resolved.workspace, repo } } : resolved;
  // Refused now rather than failed at its first step, three tries later (a new user's `git init`).
  const unusable = spec.workspace ? await rt.deps.workspaces?.unusable?.() : null;
  if (unusable) throw new InvalidInput('workspace', unusable);
  checkWorkspaceAvailable(rt, c, spec.workspace);
  const id = c.id ?? rt.deps.ids.uuid();
  const start = options.start ?? false;
  await openStream(rt, agentSpawned(id, null, { ...spec, ...extra }), start, alsoRecord, start ? (started) => spawnsAlong(rt, started) : undefined);
  return id;
}

/** How a child is spawned, past its spec. */
export interface ChildSpawnOptions extends SpawnExtra {
  /** The model's tool call that spawns it (its id derives the child's). */
  readonly toolUseId?: string;
  /** Run it at once: its stream opens with the run request (and the start, if a slot is free). */
  readonly run?: boolean;
  /**
   * `config.id` is a caller's choice (the API's), not derived by the runtime: it must be new or
   * this parent's own child (a retried spawn). Another agent's stream would otherwise pass for
   * the child's opening, already done, and become this parent's child.
   */
  readonly idChosenByCaller?: boolean;
}

/** Spawns a child under `parentId`: the delegation is recorded in the parent first. */
export async function spawnChild(rt: RuntimeContext, parentId: string, config: SpawnConfig, options: ChildSpawnOptions = {}): Promise<string> {
  const { toolUseId, run = false, idChosenByCaller = false, ...extra } = options;
  const c = parseInput(SpawnConfigSchema, config, 'spawn');
  registerTools(rt, c);
  checkWorkspaceAvailable(rt, c, resolveSpec(c, null, rt.deps.config, extra).workspace);
  const childId = c.id ?? (toolUseId ? rt.deps.ids.derive(parentId, toolUseId) : rt.deps.ids.uuid());
  if (idChosenByCaller && !(await loadActor(rt, parentId)).snapshot.context.children[childId]) await refuseTakenId(rt, childId, 'spawn.id');
  if (rt.opening.has(childId)) {
    await rt.opening.get(childId);
    return childId;
  }
  let done!: () => void;
  rt.opening.set(childId, new Promise<void>((r) => (done = r)));
  // The child's stream opens in the same commit as its parent's record of it, decided on the
  // parent's state after it (appendChain: the child is never opened by a refused decision).
  let opened = false;
  // Opened here now, with the run request in its opening: nothing is left to ask for.
  let openedRunning = false;
  const alongside = async (next: AgentSnapshot): Promise<Alongside> => {
    const spec = recordedSpec(next.context, childId, rt.deps.config);
    if (!spec) throw new NotFound('agent', childId);
    const opening = await prepareOpening(rt, agentSpawned(childId, next.context, spec), run);
    return {
      append: opening.append,
      async settle(outcome) {
        await opening.settle(outcome);
        opened ||= outcome !== null;
        openedRunning ||= run && outcome?.ok === true;
      },
    };
  };
  try {
    await execute(rt, parentId, (s) => {
      const ctx = s.context;
      if (isTerminalStatus(statusOf(s.value))) throw new InvalidTransition(parentId, statusOf(s.value), 'spawn');
      if (ctx.children[childId]) return []; // a retried spawn (same tool call)
      // A workflow node's child starts its node too (extra.nodeAttempt: ChildSpawned v4).
      return [childSpawnedEvent(rt, ctx, childId, c, extra, toolUseId)];
    }, { alongside });
    if (!opened) {
      // Cut at the parent's deadline (deadline.ts): the parent timed out instead of spawning.
      const parent = (await loadActor(rt, parentId)).snapshot.context;
      if (!parent.children[childId] && parent.timedOut) throw new InvalidTransition(parentId, 'timedOut', 'spawn');
      // Recorded before (a retried spawn): opened as its parent's record says, if it is not yet.
      await openChild(rt, parentId, childId, run);
    }
  } finally {
    rt.opening.delete(childId);
    done();
  }
  // Opened before (a retried spawn): the run is asked for as for any agent. Only once the
  // opening is over: loading the child waits for it, and an ended child is no longer cached
  // (a node that ran to its end meanwhile was read back from its stream to ask again).
  if (run && !openedRunning) await requestRun(rt, childId, `agent:${parentId}`);
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

/**
 * The tools a spawn gives by value join this process's registry (their names go in the event);
 * one given by name must be registered already: an agent whose tool no process has would wait
 * for a host in vain.
 */
function registerTools(rt: RuntimeContext, c: ParsedSpawnConfig): void {
  c.tools?.forEach((t, i) => {
    if (typeof t !== 'string') rt.deps.tools.register(t, `spawn.tools[${i}]`);
    else if (!rt.deps.tools.get(t)) throw new InvalidInput(`spawn.tools[${i}]`, `no tool named ${t} is registered in this system (give the tool itself, or register it with createAgentSystem({ tools }))`);
  });
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
 * Writes an agent's first event in an append of its own. Idempotent: an existing stream for the
 * same agent is fine. (A spawned child's opening usually rides with its parent's record of it
 * instead: spawnChild.)
 */
async function openStream(rt: RuntimeContext, data: EventData<'AgentSpawned'>, run = false, alsoRecord: readonly DomainEvent[] = [], firstSpawns?: FirstSpawns): Promise<void> {
  await appendOpening(rt, await prepareOpening(rt, data, run, alsoRecord, firstSpawns));
}

/** Refuses an agent id some stream already has (naming `field`). */
export async function refuseTakenId(rt: RuntimeContext, id: string, field: string): Promise<void> {
  const taken = await rt.deps.store.readStream(agentStream(id), { limit: 1 });
  if (taken.length > 0) throw new InvalidInput(field, `agent ${id} already exists`);
}
