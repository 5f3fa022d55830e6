import type { DomainEvent, EventData } from '../events/catalogue.js';
import type { RecordedEvent } from '../events/envelope.js';
import { parseRecorded } from '../events/upcast.js';
import { toHistoryEvent, type HistoryEvent } from '../events/historyEvent.js';
import { InvalidInput, NotFound, StoreClosed } from '../errors.js';
import type { AgentContext } from './agentContext.js';
import type { LiveActor } from './liveActor.js';
import type { ModelUsage } from './ports/modelProvider.js';
import { fold, stateView, type AgentSnapshot, type AgentState } from './replay.js';
import type { RuntimeDeps } from './runtimeConfig.js';
import type { SpawnConfig } from './spawnConfig.js';
import { agentStream } from './streams.js';
import type { WorkerOptions } from './workerHost.js';
import { unreachableWorktrees, type UnreachableWorktree } from './runtime/unreachableWorktrees.js';
import { currentActor, evictIfEnded, loadActor, preload, toDomain } from './runtime/actorCache.js';
import { execute, type ExecuteOptions } from './runtime/commandExecutor.js';
import { reconcile, wireEffects } from './runtime/effects.js';
import { recover, type RecoverOptions } from './runtime/recovery.js';
import { createRuntimeContext, hostsHere, type ChildEndEvents, type NextSpawns, type RuntimeContext } from './runtime/runtimeContext.js';
import { isTerminalStatus, statusOf } from './agentMachine.js';
import { agentResult, askToRun, runAgent, settledHere, startAgent } from './runtime/runAgent.js';
import { spawnChild, spawnRoot, type ChildSpawnOptions, type RootSpawnOptions } from './runtime/spawning.js';
import { forkAgent, type ForkOptions } from './runtime/forking.js';
import { fire, terminateSubtree } from './runtime/terminations.js';
import { waitForEnd, type RunResult } from './runtime/waitForEnd.js';
import { startWorker } from './runtime/workerMode.js';
import { answerApproval, type ApprovalAnswer } from './runtime/approvals.js';
import { progressFeed } from './progressFeed.js';
import type { ModelTextProgress } from './runtime/progressHub.js';
import { EventFeeds } from '../events/eventFeeds.js';
import { systemEvents } from '../events/systemEvents.js';
import { agentEvents } from './agentEvents.js';

export type { RunResult } from './runtime/waitForEnd.js';
export type { ChildEndEvents, NextSpawns, EndedChild, PlannedSpawn } from './runtime/runtimeContext.js';
export type { ChildSpawnOptions } from './runtime/spawning.js';

/**
 * The actor runtime: persist, then act. A command becomes events through a decider; each event
 * must be accepted by the agent machine's pure `transition()`; the batch is appended with the
 * actor's revision as the expected revision; only then is the snapshot kept and the named
 * effects run. Effects are reconcilers: they look at the stored state and do what it says is
 * due, so the same code resumes work after a restart.
 *
 * This class is the runtime's face; each job lives in its own file under `src/actors/runtime/`
 * (see docs/architecture.md, "The runtime's files"), sharing one `RuntimeContext`.
 *
 * @example
 * const runtime = new AgentRuntime(deps);
 * const id = await runtime.spawnRoot({ role: 'lead', task: 'write a haiku', budget: 20_000 });
 * const result = await runtime.run(id);
 */
export class AgentRuntime {
  private readonly rt: RuntimeContext;
  /** The store subscriptions of `events()` loops, ended first when the runtime closes. */
  private readonly feeds: EventFeeds;

  constructor(private readonly deps: RuntimeDeps) {
    this.rt = createRuntimeContext(deps);
    this.feeds = new EventFeeds(deps.store);
    wireEffects(this.rt);
  }

  /** The live actor for `id`, loaded from its snapshot and stream if needed. */
  actor(id: string): Promise<LiveActor> {
    return loadActor(this.rt, id);
  }

  /**
   * Runs a decider against the actor's current state on its mailbox and stores what it returns
   * (see commandExecutor.ts).
   */
  execute(id: string, decide: (snapshot: AgentSnapshot) => DomainEvent[] | Promise<DomainEvent[]>, opts: ExecuteOptions = {}): Promise<DomainEvent[]> {
    return execute(this.rt, id, decide, opts);
  }

  /** Spawns a root agent; `start`: started in the same commit (RootSpawnOptions). */
  spawnRoot(config: SpawnConfig, extra: Partial<EventData<'AgentSpawned'>> = {}, alsoRecord: readonly DomainEvent[] = [], options: RootSpawnOptions = {}): Promise<string> {
    return spawnRoot(this.rt, config, extra, alsoRecord, options);
  }

  /** Forks `sourceId` as it was at a revision: a new root agent (see runtime/forking.ts). */
  fork(sourceId: string, options: ForkOptions): Promise<string> {
    return forkAgent(this.rt, sourceId, options);
  }

  /** Spawns a child under `parentId`: the delegation is recorded in the parent first. */
  spawnChild(parentId: string, config: SpawnConfig, options: ChildSpawnOptions = {}): Promise<string> {
    return spawnChild(this.rt, parentId, config, options);
  }

  /**
   * Asks the agent to run (and its not-yet-running children), then waits for its end. What of its
   * subtree nobody hosts is hosted here until it ends (the agent, children never started, a dead
   * process's actors), as a worker would; what another process hosts runs there, and this follows
   * the store. Aborting `signal` terminates the agent and its subtree ('cancelled').
   */
  run(id: string, signal?: AbortSignal): Promise<RunResult> {
    return runAgent(this.rt, id, signal);
  }

  /** Records the run request and returns; this process hosts the subtree until it ends. */
  start(id: string): Promise<void> {
    return startAgent(this.rt, id);
  }

  /** Waits for the agent's end without asking it to run; `signal` stops only the wait. */
  result(id: string, signal?: AbortSignal): Promise<RunResult> {
    return agentResult(this.rt, id, signal);
  }

  /**
   * Ended here with nothing left to do: its ending ran here to the end, or its ending's commit
   * held its parent's record of it and ended its index entry (indexEnded).
   */
  settledHere(id: string): boolean {
    return settledHere(this.rt, id);
  }

  /** Records the run request (once); whichever process holds the agent's lease runs it. */
  requestRun(id: string): Promise<void> {
    return askToRun(this.rt, id);
  }

  waitForEnd(id: string): Promise<RunResult> {
    return waitForEnd(this.rt, id);
  }

  async state(id: string): Promise<AgentState> {
    const actor = await currentActor(this.rt, id);
    evictIfEnded(this.rt, actor);
    return stateView(actor.snapshot, actor.revision);
  }

  /**
   * Several agents' states, as `state()` gives each. Without a worker (a reader, or the only
   * writer) the agents not cached yet are loaded with two queries in all rather than two each:
   * the demo's 4 children cost `tree` 8 queries, now 2. A worker's cached actors may lag
   * other hosts' writes and catch up one by one, so a worker reads them one by one as before.
   */
  async states(ids: readonly string[]): Promise<AgentState[]> {
    if (!this.rt.worker && ids.length > 1) await preload(this.rt, ids);
    return Promise.all(ids.map((id) => this.state(id)));
  }

  /** What `usage` on `model` cost in US dollars, by the price table this runtime was given. */
  costOf(model: string, usage: ModelUsage): number {
    return this.deps.costOf(model, usage);
  }

  async context(id: string): Promise<AgentContext> {
    const actor = await currentActor(this.rt, id);
    evictIfEnded(this.rt, actor);
    return actor.snapshot.context;
  }

  /** Terminates `targetId`'s subtree if it lies under `byId`. */
  fire(byId: string, targetId: string, reason = 'fired'): Promise<void> {
    return fire(this.rt, byId, targetId, reason);
  }

  /** Terminates any agent and its subtree (the API's `system.terminate`, timeouts, cascades). */
  terminateSubtree(id: string, reason: string, by: string | null): Promise<void> {
    return terminateSubtree(this.rt, id, reason, by);
  }

  /** `id`'s model text as it arrives in this process, until it ends (see progressFeed.ts). */
  modelText(id: string, signal?: AbortSignal): AsyncGenerator<ModelTextProgress, void, undefined> {
    return progressFeed(this.rt.progress, id, waitForEnd(this.rt, id), signal);
  }

  /** Records a person's answer to a call parked for approval (see runtime/approvals.ts). */
  answerApproval(agentId: string, callId: string, answer: ApprovalAnswer): Promise<void> {
    return answerApproval(this.rt, agentId, callId, answer);
  }

  /** Does whatever the agent's stored state says is due, once. */
  reconcile(id: string): Promise<void> {
    return reconcile(this.rt, id);
  }

  /** Set by the workflow module: advances a workflow agent's DAG. */
  get workflowStep(): ((id: string) => Promise<void>) | null {
    return this.rt.workflowStep;
  }

  set workflowStep(step: ((id: string) => Promise<void>) | null) {
    this.rt.workflowStep = step;
  }

  /** Set by the workflow module: a node's outcome, recorded with the parent's record of its child's end. */
  get childEndEvents(): ChildEndEvents | null {
    return this.rt.childEndEvents;
  }

  set childEndEvents(decide: ChildEndEvents | null) {
    this.rt.childEndEvents = decide;
  }

  /** Set by the workflow module: the next nodes, spawned with the workflow's start or its record of a child's end. */
  get nextSpawns(): NextSpawns | null {
    return this.rt.nextSpawns;
  }

  set nextSpawns(decide: NextSpawns | null) {
    this.rt.nextSpawns = decide;
  }

  /**
   * Rebuilds every live actor from its snapshot and stream and resumes what its state says was
   * in flight: an unanswered model call is issued again, tools re-run (idempotently), children
   * opened, parents told of ends they missed.
   */
  recover(options: RecoverOptions = {}): Promise<{ recovered: number; ended: number }> {
    return recover(this.rt, options);
  }

  /**
   * Worker mode: host only the actors this process holds leases for, claim free ones (new, or a
   * dead worker's), and follow the store so writes made by other workers refresh the actors
   * cached here.
   */
  startWorker(options: WorkerOptions): Promise<void> {
    return startWorker(this.rt, options);
  }

  /** The free agents of `id`'s subtree whose worktree this process cannot reach (unreachableWorktrees.ts). */
  unreachableWorktrees(id: string, isGone: (owner: string) => boolean): Promise<UnreachableWorktree[]> {
    return unreachableWorktrees(this.rt, id, isGone);
  }

  /** The process hosting each of `ids` now (its lease owner); one nobody holds is absent. */
  leaseHolders(ids: readonly string[]): Promise<Map<string, string>> {
    return this.deps.index.leaseHolders(ids);
  }

  get hosted(): number {
    return this.rt.worker?.hostedCount ?? this.rt.actors.size;
  }

  /** Ids of the actors currently live in this process. */
  liveIds(): string[] {
    return [...this.rt.actors.keys()];
  }

  get concurrency(): { running: number; waiting: number } {
    return { running: this.rt.slots.running, waiting: this.rt.slots.waiting };
  }

  async history(id: string): Promise<HistoryEvent[]> {
    const recorded = await this.deps.store.readStream(agentStream(id));
    if (recorded.length === 0) throw new NotFound('agent', id);
    return recorded.map((r) => toHistoryEvent(parseRecorded(r)));
  }

  /** The agent's (or subtree's) events from a revision, then live, until it ends (agentEvents.ts). */
  events(id: string, options?: unknown): AsyncGenerator<HistoryEvent, void, undefined> {
    return agentEvents(this.feeds, id, options);
  }

  /** Every agent's events after a position, then live, until the consumer stops or this closes (systemEvents.ts). */
  allEvents(options?: unknown): AsyncGenerator<HistoryEvent, void, undefined> {
    return systemEvents(this.feeds, options);
  }

  async replay(id: string, toRevision?: bigint): Promise<AgentState> {
    const recorded: RecordedEvent[] = await this.deps.store.readStream(agentStream(id));
    if (recorded.length === 0) throw new NotFound('agent', id);
    const upTo = toRevision === undefined ? recorded : recorded.filter((r) => r.revision <= toRevision);
    if (toRevision !== undefined && (toRevision < 0n || toRevision > recorded[recorded.length - 1]!.revision)) {
      throw new InvalidInput('toRevision', `must be between 0 and ${recorded[recorded.length - 1]!.revision}`);
    }
    return stateView(fold(upTo.map((r) => toDomain(parseRecorded(r)))), upTo[upTo.length - 1]!.revision);
  }

  /**
   * Starts nothing new from now on: no effect runs, no model call is sent, no child starts; what is
   * in flight goes on, and close() drains it. A CLI run stopped by Ctrl-C calls it at once, so the
   * tree is left as it stood (on the embedded store a run went on to the end while the command was
   * reading what it left: a new user's try).
   */
  stopStarting(): void {
    this.rt.stopping = true;
  }

  /** Stops effects and waits for those in flight to settle (no new work starts). */
  async close(): Promise<void> {
    const rt = this.rt;
    // Watchers' loops end now, cleanly, not on a read failing as the store closes under them.
    await this.feeds.close();
    // A call already sent is let finish and recorded (up to closeDrainMs): aborted, the next host
    // would ask the model again and the provider bill both, while cadre records one (a new user
    // stopping `cadre serve` mid-call saw 2 requests for 1 recorded call). Nothing new starts.
    rt.stopping = true;
    // So is an ended agent's ending hosted here: cut off, its worktree stayed behind until some
    // later process hosted it (a new user's Ctrl-C and resume left one, 1 try of 2).
    const endingsDue = (): string[] => [...rt.actors.values()].filter((a) => isTerminalStatus(statusOf(a.snapshot.value)) && !settledHere(rt, a.id) && hostsHere(rt, a.id)).map((a) => a.id);
    for (const id of endingsDue()) rt.reconcileSoon(id);
    const until = Date.now() + (this.deps.config.closeDrainMs ?? 5_000);
    // Only a call whose reply can still be recorded: an ended agent's never can.
    const callsToRecord = (): boolean => [...rt.actors.values()].some((a) => a.inflight.call?.sent && !isTerminalStatus(statusOf(a.snapshot.value)));
    while (Date.now() < until && (callsToRecord() || endingsDue().length > 0)) await new Promise((r) => setTimeout(r, 20));
    rt.closed = true;
    // Effects queued for a concurrency slot would otherwise wait forever and hold close() up.
    rt.slots.close(new StoreClosed());
    // And so would a spawn_agent tool waiting for its child's end, which nothing here will run
    // now: woken, waitForEnd sees the runtime closed (one Ctrl-C on a run 1,385 agents wide
    // waited 10 minutes, until the children's timeouts).
    for (const a of rt.actors.values()) a.changed();
    await Promise.all(rt.onClose.map((stop) => stop()));
    for (const a of rt.actors.values()) {
      if (a.timer) clearTimeout(a.timer);
      a.abortWork();
    }
    // A tool that ignores ctx.signal would hold close() for ever: it gets the same grace, then is
    // left behind (its result is not recorded; whichever process hosts the agent next runs the
    // call again, under the same idempotency key).
    const drainMs = this.deps.config.closeDrainMs ?? 5_000;
    let timer: NodeJS.Timeout | undefined;
    const settled = await Promise.race([
      Promise.allSettled([...rt.background]).then(() => true),
      new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), drainMs))),
    ]);
    clearTimeout(timer);
    if (!settled) rt.deps.logger.warn({}, `close: work still running ${drainMs} ms after it was aborted (a tool that ignores ctx.signal?) is left behind; its result will not be recorded`);
    // Released only now: until the effects above have settled, no other process may take the
    // actors over (it would run what is still running here).
    await rt.worker?.stop();
  }
}
