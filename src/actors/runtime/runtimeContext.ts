import type { DomainEvent } from '../../events/catalogue.js';
import { agentMachine, type AgentMachine } from '../agentMachine.js';
import type { AgentSnapshot } from '../replay.js';
import type { LiveActor } from '../liveActor.js';
import type { SpawnConfig } from '../spawnConfig.js';
import type { SpawnExtra } from '../spawnSpec.js';
import type { RuntimeDeps } from '../runtimeConfig.js';
import { Slots } from '../slots.js';
import type { WorkerHost } from '../workerHost.js';
import type { OwnWrites } from './ownWrites.js';
import { ProgressHub } from './progressHub.js';
import { storableString } from '../storableReply.js';

/**
 * What the runtime's parts share: its ports, the cache of live actors and the few flags that
 * say whether it is running. The parts are functions over this object; the facade
 * (`AgentRuntime`) owns it and sets the closing flags; the other fields say who changes them.
 */
export interface RuntimeContext {
  readonly deps: RuntimeDeps;
  /** Live actors by id (actorCache loads them; spawning, ending and workerMode add or drop them). */
  readonly actors: Map<string, LiveActor>;
  /**
   * The last ended actors dropped from `actors` (their state and revision), bounded: reloading
   * one reads only its stream's tail after that revision, not its snapshot and whole stream (a
   * workflow reads each node child once more after it ended: 6 queries per agent step).
   */
  readonly recentlyEnded: Map<string, { readonly snapshot: AgentSnapshot; readonly revision: bigint }>;
  /** Loads under way, so that two callers share one. */
  readonly loading: Map<string, Promise<LiveActor>>;
  /** Children being spawned here: recorded in the parent, stream not yet opened. */
  readonly opening: Map<string, Promise<void>>;
  readonly slots: Slots;
  /** The agent machine with the runtime's effects supplied (set once, by effects.ts's wireEffects). */
  effectful: AgentMachine;
  /** Closed: no effect runs and no new one starts. */
  closed: boolean;
  /** Closing: calls already sent may finish and be recorded, nothing new starts. */
  stopping: boolean;
  /** Watchers of model text as it arrives (agent.modelText()). */
  readonly progress: ProgressHub;
  /** Agents turned away for a user tool this process lacks, with when that first happened (toolHosting.ts). */
  readonly declinedForTools: Map<string, number>;
  /** Set in worker mode: which live actors this process hosts. */
  worker: WorkerHost | null;
  /** Set in worker mode while it follows the store: the events this process wrote itself (ownWrites.ts). */
  ownWrites: OwnWrites | null;
  /** Effects running in the background; close() waits for them. */
  readonly background: Set<Promise<unknown>>;
  /** What close() stops once nothing new can start (worker mode's sweep and store subscription). */
  readonly onClose: Array<() => void | Promise<void>>;
  /** Set by the workflow module: advances a workflow agent's DAG. */
  workflowStep: ((id: string) => Promise<void>) | null;
  /** Set by the workflow module: what a parent records of a child's end besides ChildFinished (see `ChildEndEvents`). */
  childEndEvents: ChildEndEvents | null;
  /** Set by the workflow module: the children a parent's next step spawns (see `NextSpawns`). */
  nextSpawns: NextSpawns | null;
  /**
   * Looks at what `id`'s state says is due, soon (effects.ts supplies it; a hook, since most
   * parts change state and effects.ts calls most parts).
   */
  reconcileSoon: (id: string) => void;
}

/** A child that ended, as its parent's follow-up sees it. */
export interface EndedChild {
  readonly childId: string;
  readonly reason: string | null;
  readonly cause: string | null;
}

/**
 * The parent's own events that a child's end decides (a workflow's NodeFailed, or its end: a
 * completed node is completed by the ChildFinished itself, v3),
 * given the parent's state with the end recorded: stored in the same append as ChildFinished.
 * Pure; [] leaves them to the parent's next step. `terminating`: the parent is being ended.
 */
export type ChildEndEvents = (parent: AgentSnapshot, ended: EndedChild, terminating: boolean) => DomainEvent[];

/** A child a parent decides to spawn: its config, and what its ChildSpawned adds (a workflow's node and attempt, which it starts). */
export interface PlannedSpawn {
  readonly config: SpawnConfig & { readonly id: string };
  readonly extra: SpawnExtra;
}

/**
 * The children a parent's next step spawns, given its state after a decision (a workflow's start,
 * or its record of a child's end): its next nodes. They are spawned in that decision's commit,
 * their streams opened in it too (spawnsAlong.ts). Pure; [] leaves them to the next step.
 */
export type NextSpawns = (parent: AgentSnapshot) => readonly PlannedSpawn[];

export function createRuntimeContext(deps: RuntimeDeps): RuntimeContext {
  return {
    deps,
    actors: new Map(),
    recentlyEnded: new Map(),
    loading: new Map(),
    opening: new Map(),
    slots: new Slots(deps.config.maxConcurrentAgents),
    effectful: agentMachine,
    closed: false,
    stopping: false,
    declinedForTools: new Map(),
    progress: new ProgressHub(),
    worker: null,
    ownWrites: null,
    background: new Set(),
    onClose: [],
    workflowStep: null,
    childEndEvents: null,
    nextSpawns: null,
    reconcileSoon: () => {},
  };
}

/** Keeps `p` among the background effects close() waits for. */
export function track<T>(rt: RuntimeContext, p: Promise<T>): Promise<T> {
  rt.background.add(p);
  void p.finally(() => rt.background.delete(p));
  return p;
}

/**
 * `text` as it may be stored: secrets removed, as the composition root asked, and a NUL or an
 * unpaired surrogate replaced, as in a model's reply. A tool's output is whatever a file or a
 * program holds: `cat` of a committed PNG failed the agent, its result refused by the store.
 */
export const redact = (rt: RuntimeContext, text: string): string => storableString(rt.deps.redact ? rt.deps.redact(text) : text);

/** Whether this process runs `id`'s effects: always, unless a worker whose lease it is not. */
export const hostsHere = (rt: RuntimeContext, id: string): boolean => !rt.worker || rt.worker.hosts(id);

/** The running sub-state (`active`, `awaitingModel`, ...) of a snapshot value, if running. */
export const runningSub = (value: unknown): string | undefined => (typeof value === 'object' && value !== null ? (value as { running?: string }).running : undefined);
