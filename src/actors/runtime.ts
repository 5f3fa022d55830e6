import { transition } from 'xstate';
import { eventSchemas, type DomainEvent, type EventData } from '../events/catalogue.js';
import type { EventToAppend, RecordedEvent } from '../events/envelope.js';
import { parseRecorded, type ParsedEvent } from '../events/upcast.js';
import { toHistoryEvent, type HistoryEvent } from '../events/historyEvent.js';
import { InvalidInput, InvalidTransition, NotFound, NotSubordinate, StoreClosed, isCadreError, isWrongExpectedRevision } from '../errors.js';
import { parseInput } from '../validation.js';
import type { AgentContext, AgentResult } from './agentContext.js';
import { liveChildren } from './agentContext.js';
import { AGENT_MACHINE_VERSION, agentMachine, isTerminalStatus, statusOf } from './agentMachine.js';
import { afterReply, affordableMaxTokens, completionEvents, failureEvents, MIN_OUTPUT_TOKENS, reclaimEvent, terminationEvents } from './agentDecisions.js';
import { conversation, systemPrompt } from './agentPrompt.js';
import { available, checkDelegate } from './budget.js';
import { LiveActor } from './liveActor.js';
import type { ModelMessage, ModelRequest, ModelUsage } from './ports/modelProvider.js';
import { timeoutReason } from './timeoutReason.js';
import { fold, foldResting, persistable, restoreSnapshot, stateView, type AgentSnapshot, type AgentState } from './replay.js';
import type { RuntimeDeps } from './runtimeConfig.js';
import { shouldRemove } from './cleanupPolicy.js';
import { Slots, SlotWithdrawn } from './slots.js';
import { SpawnConfigSchema, workspaceRequestOf, worktreeRefused, type SpawnConfig } from './spawnConfig.js';
import { agentStream } from './streams.js';
import { runTool, type ToolContext } from './toolRunner.js';
import { toolsFor } from './tools.js';
import { WorkerHost, type WorkerOptions } from './workerHost.js';
import type { Subscription } from '../events/eventStore.js';
import { agentIdOfStream, AGENT_STREAM_PREFIX } from './streams.js';

export interface RunResult {
  readonly status: 'completed' | 'failed' | 'terminated';
  readonly output: string | null;
  readonly budgetConsumed: number;
  readonly reason: string | null;
}

interface ExecuteOptions {
  readonly causationId?: string;
}

/**
 * Conflicts a command may lose before it fails. Each conflict means another writer's append won,
 * so progress is made; a writer with a queue of commands for the same actor can win many times in
 * a row, hence the generous bound and the growing, jittered pause between tries.
 */
const MAX_CONFLICT_RETRIES = 100;
const RECOVERY_BATCH = 500;
/** Attempts at an agent's end steps (commit, notify the parent, clean up): ~25 s of backoff in all. */
const END_RETRIES = 8;
/** After the attempts above fail, the pause before a single process tries the whole ending again. */
const END_RETRY_PAUSE_MS = 30_000;
/** Tool results longer than this are stored in the blob table and referenced. */
const INLINE_TOOL_OUTPUT = 2048;
const BLOB_PREFIX = 'blob:';

/**
 * The actor runtime: persist, then act. A command becomes events through a decider; each event
 * must be accepted by the agent machine's pure `transition()`; the batch is appended with the
 * actor's revision as the expected revision; only then is the snapshot kept and the named
 * effects run. Effects are reconcilers: they look at the stored state and do what it says is
 * due, so the same code resumes work after a restart.
 */
export class AgentRuntime {
  private readonly actors = new Map<string, LiveActor>();
  private readonly loading = new Map<string, Promise<LiveActor>>();
  /** Children being spawned here: recorded in the parent, stream not yet opened. */
  private readonly opening = new Map<string, Promise<void>>();
  private readonly slots: Slots;
  private readonly effectful;
  private closed = false;
  /** Closing: calls already sent may finish and be recorded, nothing new starts. */
  private stopping = false;
  private readonly background = new Set<Promise<unknown>>();
  private readonly redact = (text: string): string => (this.deps.redact ? this.deps.redact(text) : text);
  /** Set in worker mode: which live actors this process hosts. */
  private worker: WorkerHost | null = null;
  private following: Subscription | null = null;
  private sweeper: ReturnType<typeof setInterval> | null = null;

  constructor(private readonly deps: RuntimeDeps) {
    this.slots = new Slots(deps.config.maxConcurrentAgents);
    const reconcileFrom = ({ context }: { context: AgentContext }): void => this.reconcileSoon(context.id);
    this.effectful = agentMachine.provide({
      actions: {
        continueWork: reconcileFrom,
        callModel: reconcileFrom,
        runTools: reconcileFrom,
        childFinished: reconcileFrom,
        agentEnded: reconcileFrom,
      },
    });
  }

  // ---------------------------------------------------------------- loading

  /** The live actor for `id`, loaded from its snapshot and stream if needed. */
  async actor(id: string): Promise<LiveActor> {
    const cached = this.actors.get(id);
    if (cached) return cached;
    // A child its parent already lists may be between the parent's append and its own first one.
    const opening = this.opening.get(id);
    if (opening) await opening.catch(() => {});
    let pending = this.loading.get(id);
    if (!pending) {
      pending = this.loadFromStore(id).finally(() => this.loading.delete(id));
      this.loading.set(id, pending);
    }
    return pending;
  }

  private async loadFromStore(id: string): Promise<LiveActor> {
    const stream = agentStream(id);
    let base: AgentSnapshot | undefined;
    let from = 0n;
    const snap = await this.deps.snapshots.load(stream);
    if (snap && snap.machineVersion === AGENT_MACHINE_VERSION) {
      try {
        base = restoreSnapshot(snap.state as never);
        from = snap.revision + 1n;
      } catch {
        base = undefined; // an unreadable snapshot is only an optimisation: fold from 0
      }
    }
    const recorded = await this.deps.store.readStream(stream, { from });
    if (!base && recorded.length === 0) throw new NotFound('agent', id);
    const events = recorded.map((r) => toDomain(parseRecorded(r)));
    const snapshot = fold(events, base);
    const revision = recorded.length > 0 ? recorded[recorded.length - 1]!.revision : from - 1n;
    const actor = new LiveActor(id, this.adopt(snapshot), revision);
    actor.eventsSinceSnapshot = recorded.length;
    const existing = this.actors.get(id);
    if (existing) return existing;
    this.actors.set(id, actor);
    return actor;
  }

  /**
   * XState resolves action implementations through the snapshot's own machine, so a snapshot
   * folded by the effect-free machine is re-homed on the one whose effects the runtime supplies.
   */
  private adopt(s: AgentSnapshot): AgentSnapshot {
    return this.effectful.resolveState({ value: s.value as never, context: s.context });
  }

  // ---------------------------------------------------------------- the write path

  /**
   * Runs a decider against the actor's current state on its mailbox and stores what it returns.
   * A concurrency conflict folds in what the other writer stored and decides again, on the same
   * copy: its in-flight effects (a model call, running tools, the deadline timer) stay known, so
   * reacting to the new state never starts them twice.
   */
  async execute(id: string, decide: (snapshot: AgentSnapshot) => DomainEvent[] | Promise<DomainEvent[]>, opts: ExecuteOptions = {}): Promise<DomainEvent[]> {
    for (;;) {
      const actor = await this.actor(id);
      let conflicts = 0;
      try {
        const stored = await actor.enqueue(async () => {
          for (;;) {
            if (this.actors.get(id) !== actor) throw new StaleActor();
            const events = await decide(actor.snapshot);
            if (events.length === 0) return events;
            let next = actor.snapshot;
            const actions: Array<{ exec?: (...a: never[]) => unknown; info?: unknown; params?: unknown }> = [];
            for (const e of events) {
              if (!next.can(e)) throw new InvalidTransition(id, JSON.stringify(next.value), e.type);
              const [after, acts] = transition(this.effectful, next, e);
              next = after;
              actions.push(...(acts as typeof actions));
            }
            const envelopes = events.map((e) => this.envelope(next.context, e, opts.causationId));
            let res;
            try {
              res = await this.deps.store.append(agentStream(id), envelopes, { expectedRevision: actor.revision });
            } catch (err) {
              if (!isWrongExpectedRevision(err) || conflicts >= MAX_CONFLICT_RETRIES) throw err;
              conflicts++;
              await new Promise((r) => setTimeout(r, Math.random() * Math.min(50, 2 ** conflicts)));
              await this.foldTail(actor);
              continue;
            }
            actor.snapshot = next;
            actor.revision = res.nextExpectedRevision;
            actor.eventsSinceSnapshot += events.length;
            actor.changed();
            if (actor.eventsSinceSnapshot >= this.deps.config.snapshotEvery) this.saveSnapshot(actor);
            for (const a of actions) {
              try {
                (a.exec as ((info: unknown, params: unknown) => void) | undefined)?.(a.info, a.params);
              } catch (err) {
                this.deps.logger.error({ agentId: id, err }, 'effect failed to start');
              }
            }
            return events;
          }
        });
        // The other writers' events folded in above ran their effects only where they were
        // written (a child's end waking its parent, say), and the subscription will not bring
        // them again: react to them here.
        if (conflicts > 0 && this.worker) this.reconcileSoon(id);
        return stored;
      } catch (err) {
        // The copy was replaced while this command waited (a lease claimed or lost): decide
        // again on the one now cached.
        if (err instanceof StaleActor) continue;
        throw err;
      }
    }
  }

  private envelope(c: AgentContext, e: DomainEvent, causationId?: string): EventToAppend {
    return {
      id: this.deps.ids.uuid(),
      type: e.type,
      data: e.data,
      metadata: { correlationId: c.rootId, causationId: causationId ?? `agent:${c.id}`, schemaVersion: eventSchemas[e.type].version, at: this.deps.clock.now().toISOString() },
    };
  }

  private saveSnapshot(actor: LiveActor): void {
    actor.eventsSinceSnapshot = 0;
    this.track(
      this.deps.snapshots
        .save({ streamId: agentStream(actor.id), revision: actor.revision, machineVersion: AGENT_MACHINE_VERSION, state: persistable(actor.snapshot) })
        .catch((err: unknown) => this.deps.logger.warn({ agentId: actor.id, err }, 'snapshot not saved')),
    );
  }

  // ---------------------------------------------------------------- spawning

  /** A worktree asked for where there is no repository is refused, never silently skipped. */
  private checkWorkspaceAvailable(c: ReturnType<typeof SpawnConfigSchema.parse>, request: unknown): void {
    if (request && !this.deps.workspaces) {
      throw new InvalidInput('workspace', 'no git repository to make a worktree in: run inside a git checkout, or set WORKSPACE_REPO (createAgentSystem: workspace.repo)');
    }
    // One place for a system's worktrees (start-up reconciles that folder): a different one is
    // refused, not silently ignored.
    const asked = c.workspaceConfig?.basePath;
    const configured = this.deps.config.worktreeBase?.path ?? null;
    if (asked !== undefined && request && !this.deps.config.worktreeBase?.accepts(asked)) {
      throw new InvalidInput('workspaceConfig.basePath', `this system puts worktrees ${configured ? `under ${configured}` : 'in its default folder beside the repository'}; set WORKSPACE_BASE_PATH (createAgentSystem: workspace.basePath) to ${JSON.stringify(asked)} to put them there`);
    }
  }

  /** Spawns a root agent. */
  async spawnRoot(config: SpawnConfig, extra: Partial<EventData<'AgentSpawned'>> = {}): Promise<string> {
    const c = parseInput(SpawnConfigSchema, config, 'spawn');
    this.checkWorkspaceAvailable(c, workspaceRequestOf(c));
    const id = c.id ?? this.deps.ids.uuid();
    const data: EventData<'AgentSpawned'> = {
      agentId: id,
      parentId: null,
      rootId: id,
      depth: 0,
      kind: 'agent',
      role: c.role,
      task: c.task,
      budget: c.budget,
      workspace: workspaceRequestOf(c),
      timeoutMs: c.timeoutMs ?? this.deps.config.defaultTimeoutMs,
      maxTurns: c.maxTurns ?? this.deps.config.defaultMaxTurns,
      model: c.model ?? null,
      ...extra,
    };
    await this.openStream(data);
    return id;
  }

  /** Spawns a child under `parentId`: the delegation is recorded in the parent first. */
  async spawnChild(parentId: string, config: SpawnConfig, extra: { toolUseId?: string; nodeId?: string; kind?: 'agent' | 'workflow'; graph?: unknown } = {}): Promise<string> {
    const c = parseInput(SpawnConfigSchema, config, 'spawn');
    this.checkWorkspaceAvailable(c, workspaceRequestOf(c));
    const childId = c.id ?? (extra.toolUseId ? this.deps.ids.derive(parentId, extra.toolUseId) : this.deps.ids.uuid());
    if (this.opening.has(childId)) {
      await this.opening.get(childId);
      return childId;
    }
    let done!: () => void;
    this.opening.set(childId, new Promise<void>((r) => (done = r)));
    try {
      await this.spawnChildStreams(parentId, childId, config, c, extra);
    } finally {
      this.opening.delete(childId);
      done();
    }
    return childId;
  }

  private async spawnChildStreams(
    parentId: string,
    childId: string,
    config: SpawnConfig,
    c: ReturnType<typeof SpawnConfigSchema.parse>,
    extra: { toolUseId?: string; nodeId?: string; kind?: 'agent' | 'workflow'; graph?: unknown },
  ): Promise<void> {
    await this.execute(parentId, (s) => {
      const ctx = s.context;
      if (isTerminalStatus(statusOf(s.value))) throw new InvalidTransition(parentId, statusOf(s.value), 'spawn');
      if (ctx.children[childId]) return []; // a retried spawn (same tool call)
      const refusal = checkDelegate(parentId, ctx.budget, c.budget);
      if (refusal) throw refusal;
      return [
        { type: 'ChildSpawned', data: { childId, role: c.role, task: c.task, budget: c.budget, kind: extra.kind ?? 'agent', ...(extra.toolUseId ? { toolUseId: extra.toolUseId } : {}), ...(extra.nodeId ? { nodeId: extra.nodeId } : {}) } },
        { type: 'BudgetDelegated', data: { childId, amount: c.budget } },
      ];
    });
    const parent = (await this.actor(parentId)).snapshot.context;
    // Children of an agent with a worktree get their own, branched from the parent's.
    const ws = worktreeRefused(c) ? null : workspaceRequestOf(c) ?? (parent.workspaceRequest ? {} : null);
    await this.openStream({
      agentId: childId,
      parentId,
      rootId: parent.rootId,
      depth: parent.depth + 1,
      kind: extra.kind ?? 'agent',
      role: c.role,
      task: c.task,
      budget: c.budget,
      workspace: ws,
      timeoutMs: c.timeoutMs ?? this.deps.config.defaultTimeoutMs,
      maxTurns: c.maxTurns ?? this.deps.config.defaultMaxTurns,
      model: c.model ?? parent.model,
      ...(extra.graph !== undefined ? { graph: extra.graph } : {}),
      ...(extra.nodeId ? { nodeId: extra.nodeId } : {}),
    });
  }

  /** Writes an agent's first event. Idempotent: an existing stream for the same agent is fine. */
  private async openStream(data: EventData<'AgentSpawned'>): Promise<void> {
    const leased = await this.deps.index.register({ agentId: data.agentId, parentId: data.parentId, rootId: data.rootId }, this.worker?.leaseForNew(data.agentId));
    const event: DomainEvent = { type: 'AgentSpawned', data };
    const envelope: EventToAppend = {
      id: this.deps.ids.derive('spawn', data.agentId),
      type: event.type,
      data,
      metadata: { correlationId: data.rootId, causationId: data.parentId ? `agent:${data.parentId}` : 'api:spawn', schemaVersion: 1, at: this.deps.clock.now().toISOString() },
    };
    try {
      await this.deps.store.append(agentStream(data.agentId), [envelope], { expectedRevision: 'no_stream' });
    } catch (err) {
      // Not opened here: the room taken for it goes back (whoever opened it hosts it).
      this.worker?.release(data.agentId);
      if (isWrongExpectedRevision(err) && data.parentId) return; // already opened (recovery retry)
      if (isWrongExpectedRevision(err)) throw new InvalidInput('spawn.id', `agent ${data.agentId} already exists`);
      throw err;
    }
    if (this.worker) await this.worker.adopt(data.agentId, leased);
    const snapshot = fold([event]);
    if (!this.actors.has(data.agentId)) this.actors.set(data.agentId, new LiveActor(data.agentId, this.adopt(snapshot), 0n));
  }

  // ---------------------------------------------------------------- running

  /**
   * Asks the agent to run (and its not-yet-running children), then waits for its end. What of its
   * subtree nobody hosts is hosted here until it ends (the agent, children never started, a dead
   * process's actors), as a worker would; what another process hosts runs there, and this follows
   * the store.
   */
  async run(id: string): Promise<RunResult> {
    await this.actor(id); // NotFound before anything is claimed
    const stopHosting = this.worker ? await this.worker.hostSubtree(id) : null;
    try {
      await this.requestRun(id);
      return await this.waitForEnd(id);
    } finally {
      stopHosting?.();
    }
  }

  /** Records the run request (once); whichever process holds the agent's lease runs it. */
  async requestRun(id: string): Promise<void> {
    const actor = await this.current(id);
    const status = statusOf(actor.snapshot.value);
    if (!isTerminalStatus(status) && !actor.snapshot.context.runRequested) {
      await this.execute(id, (s) => (statusOf(s.value) === 'spawned' && !s.context.runRequested ? [{ type: 'AgentRunRequested', data: {} }] : []), { causationId: 'api:run' });
    }
  }

  async waitForEnd(id: string): Promise<RunResult> {
    for (;;) {
      const actor = await this.actor(id);
      const s = actor.snapshot;
      if (isTerminalStatus(statusOf(s.value)) && !this.actors.has(id)) return runResult(s.context.result!, s.context);
      if (isTerminalStatus(statusOf(s.value)) && actor.inflight.ending === false && s.context.result) {
        // Ended and fully settled with the parent.
        if (!s.context.parentId || (await this.parentKnowsEnd(s.context))) {
          this.evictIfEnded(actor);
          return runResult(s.context.result, s.context);
        }
      }
      // Its host (here or in another process, whose writes the store subscription folds in)
      // changes it; an ended child waits for its parent to record the end.
      const parent = s.context.parentId && isTerminalStatus(statusOf(s.value)) ? this.actors.get(s.context.parentId) : undefined;
      await Promise.race([actor.onEnd(), actor.nextChange(), actor.waitFor(() => this.actors.get(id) !== actor), ...(parent ? [parent.nextChange()] : [])]);
    }
  }

  private async parentKnowsEnd(c: AgentContext): Promise<boolean> {
    if (!c.parentId) return true;
    const parent = await this.actor(c.parentId).catch(() => null);
    return !parent || parent.snapshot.context.children[c.id]?.status !== 'live';
  }

  async state(id: string): Promise<AgentState> {
    const actor = await this.current(id);
    this.evictIfEnded(actor);
    return stateView(actor.snapshot, actor.revision);
  }

  /**
   * Several agents' states, as `state()` gives each. Without a worker (a reader, or the only
   * writer) the agents not cached yet are loaded with two queries in all rather than two each:
   * the demo's 4 children cost `tree` 8 queries, now 2. A worker's cached actors may lag
   * other hosts' writes and catch up one by one, so a worker reads them one by one as before.
   */
  async states(ids: readonly string[]): Promise<AgentState[]> {
    if (!this.worker && ids.length > 1) await this.preload(ids);
    return Promise.all(ids.map((id) => this.state(id)));
  }

  /** What `usage` on `model` cost in US dollars, by the price table this runtime was given. */
  costOf(model: string, usage: ModelUsage): number {
    return this.deps.costOf(model, usage);
  }

  async context(id: string): Promise<AgentContext> {
    const actor = await this.current(id);
    this.evictIfEnded(actor);
    return actor.snapshot.context;
  }

  /**
   * The actor as its stream stands now. With several workers, other processes write to actors
   * cached here (a child's end, a parent's run request) and the store subscription brings those
   * writes in a moment later; a read must not answer from before them.
   */
  private async current(id: string): Promise<LiveActor> {
    // A load started by this call reads the stream as it stands; a cached copy or a load
    // already under way may be older than the latest write.
    const mayLag = this.actors.has(id) || this.loading.has(id);
    const actor = await this.actor(id);
    if (!this.worker || !mayLag) return actor; // the only writer, or just read from the stream
    // What it brings in is then not news to the subscription: react to it here.
    if (await this.catchUp(actor)) this.reconcileSoon(id);
    return actor;
  }

  /**
   * Bounded memory: an ended actor loaded again (a state() call, a late event, a parent checking
   * its child) leaves the cache once nothing is using it; the next use reloads it from its
   * snapshot and stream.
   */
  private evictIfEnded(actor: LiveActor): void {
    if (this.actors.get(actor.id) !== actor || actor.busy > 0 || actor.inflight.ending) return;
    if (!isTerminalStatus(statusOf(actor.snapshot.value))) return;
    this.actors.delete(actor.id);
    actor.changed();
  }

  // ---------------------------------------------------------------- firing

  /** Terminates `targetId`'s subtree if it lies under `byId`. */
  async fire(byId: string, targetId: string, reason = 'fired'): Promise<void> {
    if (byId === targetId || !(await this.isDescendant(targetId, byId))) throw new NotSubordinate(byId, targetId);
    await this.terminateSubtree(targetId, reason, byId);
  }

  /** Terminates any agent and its subtree (the API's `system.terminate`, timeouts, cascades). */
  async terminateSubtree(id: string, reason: string, by: string | null): Promise<void> {
    const actor = await this.actor(id);
    if (isTerminalStatus(statusOf(actor.snapshot.value))) return;
    actor.inflight.terminating = true;
    actor.inflight.call?.controller.abort();
    // Children first, each recording why; the parent ends only when every child has reported.
    const kids = liveChildren(actor.snapshot.context);
    await Promise.all(kids.map((k) => this.terminateSubtree(k, `parent ${id} terminated: ${reason}`, id).catch((err: unknown) => this.deps.logger.error({ agentId: k, err }, 'cascade failed'))));
    await Promise.all(kids.map((k) => this.ensureParentNotified(k)));
    await this.execute(id, (s) => (isTerminalStatus(statusOf(s.value)) ? [] : terminationEvents(s.context, reason, by)), { causationId: by ? `agent:${by}` : 'api:terminate' });
    await this.ensureParentNotified(id);
  }

  private async isDescendant(id: string, ancestor: string): Promise<boolean> {
    let current: string | null = id;
    for (let hops = 0; current && hops < 100_000; hops++) {
      const entry = await this.deps.index.get(current);
      if (!entry) return false;
      if (entry.parentId === ancestor) return true;
      current = entry.parentId;
    }
    return false;
  }

  // ---------------------------------------------------------------- effects (reconcilers)

  private reconcileSoon(id: string): void {
    if (this.closed) return;
    // In worker mode only the lease holder runs an actor's effects.
    if (this.worker && !this.worker.hosts(id)) return;
    queueMicrotask(() => this.track(this.reconcile(id).catch((err: unknown) => this.onEffectError(id, err))));
  }

  private track<T>(p: Promise<T>): Promise<T> {
    this.background.add(p);
    void p.finally(() => this.background.delete(p));
    return p;
  }

  /** Does whatever the agent's stored state says is due, once. */
  async reconcile(id: string): Promise<void> {
    if (this.closed || this.stopping) return;
    // Only the lease holder calls the model, runs tools or touches a worktree for an actor.
    if (this.worker && !this.worker.hosts(id)) return;
    const actor = this.actors.get(id);
    if (!actor) return;
    const s = actor.snapshot;
    const c = s.context;
    const status = statusOf(s.value);
    this.armTimer(actor);
    if (isTerminalStatus(status)) return this.onEnded(actor);
    if (actor.inflight.terminating) return;
    const sub = typeof s.value === 'object' ? (s.value as { running?: string }).running : undefined;

    if (status === 'spawned') {
      if (c.runRequested && !actor.inflight.starting) {
        actor.inflight.starting = true;
        try {
          await this.slots.acquire(id);
          const deadline = c.timeoutMs ? new Date(this.deps.clock.now().getTime() + c.timeoutMs).toISOString() : null;
          await this.execute(id, (x) => (statusOf(x.value) === 'spawned' ? [{ type: 'AgentStarted', data: { deadline } }] : []));
        } finally {
          actor.inflight.starting = false;
        }
      }
      return;
    }
    if (sub === 'awaitingChildren') {
      this.slots.release(id);
      for (const child of liveChildren(c)) this.track(this.ensureChildRunning(id, child).catch((err: unknown) => this.onEffectError(child, err)));
      return;
    }
    if (sub === 'active') return this.decideNext(actor);
    if (sub === 'awaitingModel') return this.callModel(actor);
    if (sub === 'usingTools') return this.runTools(actor);
  }

  private onEffectError(id: string, err: unknown): void {
    if (this.closed) return;
    // It gave its slot up while it waited for one (it now waits for children, or ended): that
    // effect is no longer due, and whatever becomes due starts with the actor's next change.
    if (err instanceof SlotWithdrawn) return;
    this.deps.logger.error({ agentId: id, err: err instanceof Error ? { message: err.message, name: err.name } : err }, 'effect failed');
    // An effect that cannot proceed fails the agent rather than leaving it hanging forever.
    void this.execute(id, (s) => {
      const st = statusOf(s.value);
      if (isTerminalStatus(st) || liveChildren(s.context).length > 0) return [];
      return failureEvents(s.context, 'error', this.redact(err instanceof Error ? err.message : String(err)));
    }).catch(() => {});
  }

  /** Opens a missing child stream (crash between two appends) and makes sure it runs. */
  private async ensureChildRunning(parentId: string, childId: string): Promise<void> {
    const child = await this.actor(childId).catch(async (err: unknown) => {
      if (!(err instanceof NotFound)) throw err;
      await this.reopenChild(parentId, childId);
      return this.actor(childId);
    });
    if (!child.snapshot.context.runRequested && statusOf(child.snapshot.value) === 'spawned') {
      await this.execute(childId, (s) => (statusOf(s.value) === 'spawned' && !s.context.runRequested ? [{ type: 'AgentRunRequested', data: {} }] : []), { causationId: `agent:${parentId}` });
    }
    if (isTerminalStatus(statusOf(child.snapshot.value))) await this.ensureParentNotified(childId);
  }

  private async reopenChild(parentId: string, childId: string): Promise<void> {
    const p = (await this.actor(parentId)).snapshot.context;
    const rec = p.children[childId];
    if (!rec) throw new NotFound('agent', childId);
    await this.openStream({
      agentId: childId,
      parentId,
      rootId: p.rootId,
      depth: p.depth + 1,
      kind: rec.kind,
      role: rec.role,
      task: rec.task,
      budget: rec.budget,
      workspace: p.workspace ? {} : null,
      timeoutMs: this.deps.config.defaultTimeoutMs,
      maxTurns: this.deps.config.defaultMaxTurns,
      model: p.model,
      ...(rec.nodeId ? { nodeId: rec.nodeId } : {}),
    });
  }

  private async decideNext(actor: LiveActor): Promise<void> {
    if (actor.inflight.deciding) return;
    actor.inflight.deciding = true;
    try {
      await this.slots.acquire(actor.id);
      const c = actor.snapshot.context;
      if (c.workspaceRequest && !c.workspace && this.deps.workspaces) {
        await this.openWorkspace(actor);
        actor.inflight.deciding = false;
        this.reconcileSoon(actor.id); // recording the workspace changes no state: look again
        return;
      }
      if (c.kind === 'workflow' && this.workflowStep) {
        await this.workflowStep(actor.id);
        return;
      }
      await this.startTurn(actor.id);
    } finally {
      actor.inflight.deciding = false;
    }
  }

  /** Set by the workflow module: advances a workflow agent's DAG. */
  workflowStep: ((id: string) => Promise<void>) | null = null;

  private async openWorkspace(actor: LiveActor): Promise<void> {
    const c = actor.snapshot.context;
    const parentBranch = c.parentId ? (await this.actor(c.parentId)).snapshot.context.workspace?.branch : undefined;
    const base = c.workspaceRequest?.base ?? parentBranch;
    const info = await this.deps.workspaces!.create(c.id, base ? { baseBranch: base } : {});
    await this.execute(actor.id, (s) => (s.context.workspace || isTerminalStatus(statusOf(s.value)) ? [] : [{ type: 'WorkspaceCreated', data: { ...info } }]));
    // Ended (timed out, fired) while git was adding it: no event will ever name this worktree, so it goes now.
    if (!(await this.actor(actor.id)).snapshot.context.workspace) await this.deps.workspaces!.remove(c.id, { deleteBranch: true });
  }

  /** One model turn: reserve the worst case, record the request, and the effect makes the call. */
  private async startTurn(id: string): Promise<void> {
    await this.execute(id, async (s) => {
      const sub = typeof s.value === 'object' ? (s.value as { running?: string }).running : undefined;
      if (sub !== 'active') return [];
      const c = s.context;
      if (c.turn >= c.maxTurns) return failureEvents(c, 'max_turns', `stopped after ${c.maxTurns} turns without finishing`);
      const tools = toolsFor({ workspace: c.workspace !== null && !!this.deps.workspaces, commands: this.deps.config.allowCommands, messages: !!this.deps.messages });
      const draft: ModelRequest = {
        ...(c.model ? { model: c.model } : {}),
        system: systemPrompt(c),
        messages: await this.resolveBlobs(conversation(c)),
        tools,
        maxTokens: this.deps.config.maxTokensPerCall,
        agent: { id: c.id, role: c.role, task: c.task, hasWorkspace: c.workspace !== null },
      };
      const input = this.deps.model.estimateInputTokens(draft);
      const maxTokens = affordableMaxTokens(c, input, this.deps.config.maxTokensPerCall);
      if (maxTokens < MIN_OUTPUT_TOKENS) {
        return failureEvents(c, 'budget_exhausted', `budget exhausted: ${available(c.budget)} tokens left, a turn needs about ${input + MIN_OUTPUT_TOKENS}: run it again with a larger --budget`);
      }
      const request: ModelRequest = { ...draft, maxTokens };
      const requestRef = await this.deps.blobs.put(request);
      const callId = this.deps.ids.derive(c.id, `call-${c.turn}`);
      const reserved = input + maxTokens;
      return [
        { type: 'BudgetReserved', data: { reservationId: callId, amount: reserved } },
        { type: 'ModelRequested', data: { callId, turn: c.turn, provider: this.deps.model.name, model: c.model ?? this.deps.model.defaultModel, requestRef, reserved } },
      ];
    });
  }

  /** Replaces blob references in tool results with their content for the next prompt. */
  private async resolveBlobs(messages: ModelMessage[]): Promise<ModelMessage[]> {
    return Promise.all(
      messages.map(async (m) => ({
        ...m,
        content: await Promise.all(
          m.content.map(async (b) =>
            b.type === 'tool_result' && b.content.startsWith(BLOB_PREFIX) ? { ...b, content: String(await this.deps.blobs.get(b.content.slice(BLOB_PREFIX.length))) } : b,
          ),
        ),
      })),
    );
  }

  private async callModel(actor: LiveActor): Promise<void> {
    const pending = actor.snapshot.context.pendingCall;
    if (!pending || actor.inflight.call?.callId === pending.callId) return;
    const controller = new AbortController();
    actor.inflight.call = { callId: pending.callId, controller };
    try {
      await this.slots.acquire(actor.id);
      if (this.stopping) return; // not sent: the next host sends it
      const request = (await this.deps.blobs.get(pending.requestRef)) as ModelRequest;
      if (actor.inflight.call?.callId === pending.callId) actor.inflight.call.sent = true;
      let outcome: { ok: true; reply: Awaited<ReturnType<RuntimeDeps['model']['complete']>> } | { ok: false; err: unknown };
      try {
        outcome = { ok: true, reply: await this.deps.model.complete(request, { signal: controller.signal }) };
      } catch (err) {
        outcome = { ok: false, err };
      }
      // Fired, shutting down, or the lease lost (onLost aborts): whoever holds the agent now records its turn.
      if (controller.signal.aborted || this.closed) return;
      await this.execute(actor.id, (s) => {
        const c = s.context;
        if (c.pendingCall?.callId !== pending.callId) return [];
        if (outcome.ok) return afterReply(c, pending.callId, outcome.reply, this.deps.costOf(outcome.reply.model, outcome.reply.usage));
        const message = this.redact(outcome.err instanceof Error ? outcome.err.message : String(outcome.err));
        const retryable = isCadreError(outcome.err) ? outcome.err.retryable : false;
        const afterFail: AgentContext = { ...c, pendingCall: null };
        return [{ type: 'ModelFailed', data: { callId: pending.callId, error: message, retryable } }, ...failureEvents(afterFail, 'model_error', `model call failed: ${message}`)];
      }, { causationId: `model:${pending.callId}` });
    } finally {
      if (actor.inflight.call?.callId === pending.callId) actor.inflight.call = null;
    }
  }

  private async runTools(actor: LiveActor): Promise<void> {
    const c = actor.snapshot.context;
    for (const [toolUseId, tool] of Object.entries(c.pendingTools)) {
      if (actor.inflight.tools.has(toolUseId)) continue;
      actor.inflight.tools.add(toolUseId);
      this.track(
        this.runOneTool(actor, toolUseId, tool.name, tool.input)
          .catch((err: unknown) => this.onEffectError(actor.id, err))
          .finally(() => actor.inflight.tools.delete(toolUseId)),
      );
    }
  }

  private async runOneTool(actor: LiveActor, toolUseId: string, name: string, input: unknown): Promise<void> {
    const waitsOnChild = name === 'spawn_agent';
    if (waitsOnChild) this.slots.release(actor.id);
    else await this.slots.acquire(actor.id);
    const ctx: ToolContext = {
      agentId: actor.id,
      context: actor.snapshot.context,
      toolUseId,
      workspaces: this.deps.workspaces,
      messages: this.deps.messages,
      allowCommands: this.deps.config.allowCommands,
      commandTimeoutMs: this.deps.config.commandTimeoutMs,
      redact: this.redact,
      spawnAndWait: async (config) => {
        const childId = await this.spawnChild(actor.id, config, { toolUseId });
        await this.ensureChildRunning(actor.id, childId);
        return this.waitForEnd(childId);
      },
      recordMessageSent: (data) => this.execute(actor.id, () => [{ type: 'MessageSent', data }]).then(() => undefined),
      recordMessagesReceived: (msgs) =>
        this.execute(actor.id, () => msgs.map((m) => ({ type: 'MessageReceived' as const, data: { messageId: m.messageId, from: m.from, attempt: m.attempt } }))).then(() => undefined),
    };
    const raw = await runTool(name, input, ctx);
    // Shutting down, or the lease lapsed while the tool ran: the new host runs it again and records it.
    if (this.closed || (this.worker && !this.worker.hosts(actor.id))) return;
    // Large results (file contents, command output) live once in the blob table; the event
    // keeps a reference, so streams stay small. The next prompt resolves it (startTurn).
    const result = raw.output.length > INLINE_TOOL_OUTPUT && name !== 'finish'
      ? { ...raw, output: `${BLOB_PREFIX}${await this.deps.blobs.put(raw.output)}` }
      : raw;
    await this.execute(actor.id, (s) => {
      const cur = s.context;
      const pending = cur.pendingTools[toolUseId];
      if (!pending || isTerminalStatus(statusOf(s.value))) return [];
      const events: DomainEvent[] = [{ type: 'ToolReturned', data: { toolUseId, name, output: result.output, isError: result.isError } }];
      const remaining = Object.keys(cur.pendingTools).filter((k) => k !== toolUseId);
      if (remaining.length === 0 && liveChildren(cur).length === 0) {
        const output = finishOutput(cur, { toolUseId, name, output: result.output, isError: result.isError });
        if (output !== null) events.push(...completionEvents(cur, output));
      }
      return events;
    }, { causationId: `tool:${toolUseId}` });
  }

  // ---------------------------------------------------------------- endings

  private armTimer(actor: LiveActor): void {
    const c = actor.snapshot.context;
    if (actor.timer || !c.deadline || isTerminalStatus(statusOf(actor.snapshot.value))) return;
    const ms = Math.max(0, new Date(c.deadline).getTime() - this.deps.clock.now().getTime());
    // A durable timer: the deadline is in the stream, so a restart re-arms it.
    actor.timer = setTimeout(() => {
      actor.timer = null;
      this.track(this.timeOut(actor.id).catch((err: unknown) => this.onEffectError(actor.id, err)));
    }, Math.min(ms, 2 ** 31 - 1));
    actor.timer.unref?.();
  }

  private async timeOut(id: string): Promise<void> {
    const actor = await this.actor(id);
    const c = actor.snapshot.context;
    if (isTerminalStatus(statusOf(actor.snapshot.value)) || !c.deadline) return;
    if (new Date(c.deadline).getTime() > this.deps.clock.now().getTime()) return this.armTimer(actor);
    actor.inflight.terminating = true;
    actor.inflight.call?.controller.abort();
    const kids = liveChildren(c);
    await Promise.all(kids.map((k) => this.terminateSubtree(k, `parent ${id} timed out`, id)));
    await Promise.all(kids.map((k) => this.ensureParentNotified(k)));
    await this.execute(id, (s) => {
      if (isTerminalStatus(statusOf(s.value))) return [];
      const after: AgentContext = { ...s.context, timedOut: true };
      return [{ type: 'AgentTimedOut', data: { deadline: c.deadline! } }, ...failureEvents(after, 'timeout', timeoutReason(c.timeoutMs, this.deps.config.defaultTimeoutMs))];
    }, { causationId: 'timer' });
  }

  private async onEnded(actor: LiveActor): Promise<void> {
    if (actor.inflight.ending) return;
    actor.inflight.ending = true;
    try {
      this.slots.release(actor.id);
      if (actor.timer) clearTimeout(actor.timer);
      actor.timer = null;
      // Every step is idempotent (it checks the stream first), so a transient failure (git down,
      // a lost connection) is retried as a whole; if it outlasts the retries the agent stays live
      // in the index and the whole ending is tried again later (retryEndLater).
      for (let attempt = 1; ; attempt++) {
        try {
          await this.finishWorkspace(actor);
          await this.ensureParentNotified(actor.id);
          // After the parent merged it: the worktree follows the cleanup policy.
          await this.cleanUpWorkspace(actor.id, (await this.actor(actor.id)).snapshot.context);
          break;
        } catch (err) {
          if (!this.closed && attempt >= END_RETRIES) this.retryEndLater(actor.id);
          if (this.closed || attempt >= END_RETRIES) throw err;
          this.deps.logger.warn({ agentId: actor.id, attempt, err: err instanceof Error ? err.message : String(err) }, 'ending an agent failed; retrying');
          await new Promise((r) => setTimeout(r, Math.min(5000, 100 * 2 ** attempt)));
        }
      }
      await this.deps.index.markEnded(actor.id);
      this.worker?.release(actor.id);
      if (actor.eventsSinceSnapshot > 0) this.saveSnapshot(actor);
    } finally {
      actor.inflight.ending = false;
      actor.ended();
      // Bounded memory: ended actors leave the live set; state() reloads them on demand.
      if (this.actors.get(actor.id) === actor) this.actors.delete(actor.id);
      actor.changed();
    }
  }

  /**
   * An ending that failed every attempt must not be forgotten while its parent waits: a worker
   * lets the lease lapse so that whichever worker claims the agent next ends it again; a single
   * process tries again after a pause.
   */
  private retryEndLater(id: string): void {
    if (this.worker?.claimsFree) return this.worker.release(id);
    const timer = setTimeout(() => {
      if (this.closed) return;
      this.track(this.actor(id).then(() => this.reconcileSoon(id)).catch((err: unknown) => this.onEffectError(id, err)));
    }, END_RETRY_PAUSE_MS);
    timer.unref?.();
  }

  /** Commits an ended agent's work; the parent merges it (see notifyParent); the policy cleans up. */
  private async finishWorkspace(actor: LiveActor): Promise<void> {
    const ws = this.deps.workspaces;
    const c = actor.snapshot.context;
    ws?.stop?.(c.id); // its commands end with it, background children included
    if (!ws || !c.workspace || c.workspaceRemoved) return;
    if (!c.lastCommit && c.result?.status === 'completed') {
      const committed = await ws.commit(c.id, `${c.role}: ${c.task.slice(0, 60)}`);
      if (committed) await this.execute(c.id, (s) => (s.context.lastCommit ? [] : [{ type: 'WorkspaceCommitted', data: committed }]));
    }
  }

  /** Records a child's end in its parent exactly once: ChildFinished and the budget reclaim. */
  private async ensureParentNotified(childId: string): Promise<void> {
    const child = await this.actor(childId);
    const c = child.snapshot.context;
    const status = statusOf(child.snapshot.value);
    if (!c.parentId || !isTerminalStatus(status) || !c.result) return;
    const parent = await this.actor(c.parentId);
    if (parent.snapshot.context.children[childId]?.status !== 'live') return;
    const merge = await this.mergeIntoParent(c, parent.snapshot.context);
    await this.execute(c.parentId, (s) => {
      const rec = s.context.children[childId];
      if (!rec || rec.status !== 'live') return [];
      const events: DomainEvent[] = [
        { type: 'ChildFinished', data: { childId, status: c.result!.status, output: c.result!.output } },
        reclaimEvent(childId, rec.budget, c.budget),
      ];
      if (merge && merge.status === 'merged') events.push({ type: 'WorkspaceMerged', data: { childId, branch: c.workspace!.branch, commit: merge.commit, files: [...merge.files] } });
      if (merge && merge.status === 'conflict') events.push({ type: 'WorkspaceMergeConflicted', data: { childId, branch: c.workspace!.branch, files: [...merge.files] } });
      return events;
    }, { causationId: `agent:${childId}` });
  }

  private async mergeIntoParent(child: AgentContext, parent: AgentContext) {
    const ws = this.deps.workspaces;
    if (!ws || !child.workspace || !parent.workspace || child.result?.status !== 'completed') return null;
    if (parent.merges.some((m) => m.childId === child.id)) return null;
    try {
      return await ws.merge(child.id, parent.id);
    } catch (err) {
      // A merge that cannot run (say the parent's tree is mid-write) must never hold back the
      // child's end or its budget: it is recorded as not merged, and the branch stays for review.
      this.deps.logger.warn({ agentId: child.id, err: err instanceof Error ? err.message : String(err) }, 'merge not possible');
      return { status: 'conflict' as const, files: [] };
    }
  }

  private async cleanUpWorkspace(id: string, c: AgentContext): Promise<void> {
    const ws = this.deps.workspaces;
    if (!ws || c.workspaceRemoved) return;
    if (!c.workspace) {
      // Asked for one and ended without recording it (git failed half-way, or a timeout or fire
      // came first): git may have added it all the same, and no event will ever name it.
      if (c.workspaceRequest) await ws.remove(id, { deleteBranch: true });
      return;
    }
    if (!c.result || !shouldRemove(this.deps.config.cleanupPolicy, c.result.status)) return;
    await ws.remove(id, { deleteBranch: false });
    await this.execute(id, (s) => (s.context.workspaceRemoved ? [] : [{ type: 'WorkspaceRemoved', data: { path: c.workspace!.path, branchDeleted: false } }]));
  }

  // ---------------------------------------------------------------- recovery

  /**
   * Rebuilds every live actor from its snapshot and stream and resumes what its state says was
   * in flight: an unanswered model call is issued again, tools re-run (idempotently), children
   * opened, parents told of ends they missed.
   */
  async recover(options: { beforeResume?: (live: readonly AgentContext[]) => Promise<void> } = {}): Promise<{ recovered: number; ended: number }> {
    const listed = await this.deps.index.listLive();
    // Only what this process can lease: another live process's actors stay with it.
    const mine = this.worker ? await this.worker.claimRecoverable(listed.map((e) => e.agentId)) : null;
    const live = mine ? listed.filter((e) => mine.has(e.agentId)) : listed;
    let recovered = 0;
    let ended = 0;
    for (let i = 0; i < live.length; i += RECOVERY_BATCH) await this.preload(live.slice(i, i + RECOVERY_BATCH).map((e) => e.agentId));
    const queue = [...live];
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        for (let e = queue.shift(); e; e = queue.shift()) {
          const actor = await this.actor(e.agentId).catch((err: unknown) => (err instanceof NotFound ? null : Promise.reject(err)));
          if (!actor) {
            // Registered, never written: if the parent recorded the spawn, finish it; else forget it.
            if (e.parentId && (await this.reopenIfRecorded(e.parentId, e.agentId))) recovered++;
            else await this.deps.index.forget(e.agentId);
            continue;
          }
          if (isTerminalStatus(statusOf(actor.snapshot.value))) ended++;
          else recovered++;
        }
      }),
    );
    // A crash between the parent's ChildSpawned and the child's index entry: the parent's stream
    // is the only record, so open the child as it says.
    const reopened: string[] = [];
    for (const a of [...this.actors.values()]) {
      if (isTerminalStatus(statusOf(a.snapshot.value))) continue;
      for (const childId of liveChildren(a.snapshot.context)) {
        if (!this.actors.has(childId) && (await this.reopenIfRecorded(a.id, childId))) reopened.push(childId);
      }
    }
    recovered += reopened.length;
    const resuming = [...new Set([...live.map((e) => e.agentId), ...reopened])].filter((id) => this.actors.has(id));
    // What must agree with the streams before any effect runs (worktrees on disk), from the
    // contexts just loaded in batches.
    // Other processes' live actors count as live there too (their worktrees are in use), though
    // they are not resumed here.
    const elsewhere = listed.map((e) => e.agentId).filter((id) => !resuming.includes(id));
    if (options.beforeResume && elsewhere.length > 0) await this.preload(elsewhere);
    const keep = [...resuming, ...elsewhere].flatMap((id) => this.actors.get(id)?.snapshot.context ?? []);
    await options.beforeResume?.(keep);
    for (const id of resuming) this.reconcileSoon(id);
    // A recovering host: actors whose host is gone but whose lease has not lapsed yet are taken
    // over (by whichever claiming host is first) once it has.
    this.worker?.startClaiming();
    return { recovered, ended };
  }

  /**
   * Loads many actors with two queries (their snapshots, then every stream's tail) instead of
   * two per actor; actors already cached or missing are left to the one-by-one path.
   */
  private async preload(ids: readonly string[]): Promise<void> {
    const todo = ids.filter((id) => !this.actors.has(id));
    if (todo.length === 0) return;
    const snaps = await this.deps.snapshots.loadMany(todo.map(agentStream));
    const bases = new Map<string, { snapshot: AgentSnapshot; from: bigint }>();
    for (const id of todo) {
      const snap = snaps.get(agentStream(id));
      if (!snap || snap.machineVersion !== AGENT_MACHINE_VERSION) continue;
      try {
        bases.set(id, { snapshot: restoreSnapshot(snap.state as never), from: snap.revision + 1n });
      } catch {
        // unreadable snapshot: fold from 0
      }
    }
    const requests = todo.map((id) => ({ streamId: agentStream(id), from: bases.get(id)?.from ?? 0n }));
    const tails = await this.readTails(requests);
    for (const id of todo) {
      const recorded = tails.get(agentStream(id)) ?? [];
      const base = bases.get(id);
      if (!base && recorded.length === 0) continue; // missing: handled by the caller
      const events = recorded.map((r) => toDomain(parseRecorded(r)));
      const snapshot = events.length === 0 && base ? base.snapshot : foldResting(events, base?.snapshot);
      const revision = recorded.length > 0 ? recorded[recorded.length - 1]!.revision : base!.from - 1n;
      if (this.actors.has(id)) continue;
      const actor = new LiveActor(id, this.adopt(snapshot), revision);
      actor.eventsSinceSnapshot = recorded.length;
      this.actors.set(id, actor);
    }
  }

  /** Opens `childId`'s stream if it is missing and `parentId`'s stream records the spawn. */
  private async reopenIfRecorded(parentId: string, childId: string): Promise<boolean> {
    const exists = await this.actor(childId).then(
      () => true,
      (err: unknown) => (err instanceof NotFound ? false : Promise.reject(err)),
    );
    if (exists) return false;
    const parent = await this.actor(parentId).catch(() => null);
    if (!parent?.snapshot.context.children[childId]) return false;
    await this.reopenChild(parentId, childId);
    return true;
  }

  // ---------------------------------------------------------------- several workers

  /**
   * Worker mode: host only the actors this process holds leases for, claim free ones (new, or a
   * dead worker's), and follow the store so writes made by other workers (a child in another
   * worker reporting its end, say) refresh the actors cached here.
   */
  async startWorker(options: WorkerOptions): Promise<void> {
    this.worker = new WorkerHost(
      this.deps.index,
      options,
      this.deps.logger,
      (ids) => this.hostClaimed(ids),
      (ids) => {
        for (const id of ids) {
          const lost = this.actors.get(id);
          lost?.inflight.call?.controller.abort();
          if (lost?.timer) clearTimeout(lost.timer); // its deadline is the new host's to keep
          this.actors.delete(id);
          lost?.changed(); // a run() waiting on this copy follows the new host's through a fresh one
          this.slots.release(id); // its new host does its work now
        }
      },
    );
    await this.follow();
    await this.worker.tick();
    this.worker.start();
    let sweeping: Promise<void> | null = null; // one sweep at a time, however slow the store
    this.sweeper = setInterval(() => {
      sweeping ??= this.track(this.sweepWaiting().catch((err: unknown) => this.deps.logger.warn({ err: String(err) }, 'sweep failed'))).finally(() => (sweeping = null));
    }, options.leaseTtlMs);
    this.sweeper.unref?.();
  }

  /** Starts hosting actors whose leases were just taken here: reload them and do what is due. */
  private async hostClaimed(ids: readonly string[]): Promise<void> {
    for (const id of ids) {
      // Reload: another process may have written since it was cached. Whoever waits on the old
      // copy (a run() following it) looks again, at the one hosted now.
      const old = this.actors.get(id);
      this.actors.delete(id);
      old?.changed();
      const actor = await this.actor(id).catch(() => null);
      if (actor) this.reconcileSoon(id);
      // Not readable yet (registered, first event not written) or not at all: let it go at
      // once rather than hold its lease until it lapses with nobody running it.
      else await this.worker?.giveUp(id).catch(() => {});
    }
  }

  /**
   * The safety net under the subscription: a hosted actor that waits on other processes' writes
   * (a run request, its children's ends) is compared with its stream once per lease period, so a
   * wake-up lost anyway (a refresh that failed while Postgres restarted) delays it, never strands it.
   */
  private async sweepWaiting(): Promise<void> {
    const waiting = [...this.actors.values()].filter((a) => {
      if (a.busy > 0 || !this.worker?.hosts(a.id)) return false;
      const v = a.snapshot.value;
      return v === 'spawned' || (typeof v === 'object' && (v as { running?: string }).running === 'awaitingChildren');
    });
    if (waiting.length === 0) return;
    const tails = await this.readTails(waiting.map((a) => ({ streamId: agentStream(a.id), from: a.revision + 1n })));
    for (const a of waiting) if ((tails.get(agentStream(a.id))?.length ?? 0) > 0) await this.refresh(a.id);
  }

  /** Many streams' tails, each from its own revision: one query where the store can, else one read each. */
  private async readTails(requests: ReadonlyArray<{ streamId: string; from: bigint }>): Promise<Map<string, RecordedEvent[]>> {
    if (this.deps.store.readStreams) return this.deps.store.readStreams(requests);
    return new Map(await Promise.all(requests.map(async (r) => [r.streamId, await this.deps.store.readStream(r.streamId, { from: r.from })] as const)));
  }

  /**
   * Keeps cached actors in step with writes made by other processes. The subscription starts at
   * the head (what is older is in the streams any load reads) and, should it fail (a lost
   * connection), starts again from the last event it delivered, so no write is ever missed.
   */
  private async follow(): Promise<void> {
    // Taken before any actor is loaded here, so no write can fall between a load and the start.
    let from = await this.deps.store.headPosition();
    void (async () => {
      for (let failures = 0; !this.closed; ) {
        try {
          const sub = this.deps.store.subscribeToAll({ fromPosition: from, streamPrefixes: [AGENT_STREAM_PREFIX] });
          this.following = sub;
          if (this.closed) await sub.close();
          for await (const e of sub) {
            from = e.position;
            failures = 0;
            this.onWrittenElsewhere(e.streamId, e.revision);
          }
          return; // closed
        } catch (err) {
          if (this.closed) return;
          failures++;
          this.deps.logger.warn({ err: String(err), failures }, 'store subscription failed; subscribing again');
          await new Promise((r) => setTimeout(r, Math.min(5000, 50 * 2 ** failures)).unref?.());
        }
      }
    })();
  }

  private onWrittenElsewhere(streamId: string, revision: bigint): void {
    const id = agentIdOfStream(streamId);
    if (!id) return;
    const actor = this.actors.get(id);
    // Being loaded: the load may have read the stream just before this event.
    const loading = actor ? undefined : this.loading.get(id);
    if (loading) this.track(loading.then(() => this.refresh(id)).catch(() => {}));
    if (!actor || revision <= actor.revision) return;
    this.track(this.refresh(id).catch((err: unknown) => this.deps.logger.warn({ agentId: id, err: String(err) }, 'refresh failed')));
  }

  /** Folds events written elsewhere into a cached actor, then lets it react. */
  private async refresh(id: string): Promise<void> {
    const actor = this.actors.get(id);
    if (!actor) return;
    await this.catchUp(actor);
    this.reconcileSoon(id);
    if (isTerminalStatus(statusOf(actor.snapshot.value)) && !(this.worker && this.worker.hosts(id))) actor.ended();
  }

  /** Reads what the stream holds past the cached revision, on the actor's mailbox; true if there was any. */
  private catchUp(actor: LiveActor): Promise<boolean> {
    return actor.enqueue(() => this.foldTail(actor));
  }

  /** Folds the stream's tail into the cached copy; only from inside the actor's mailbox. */
  private async foldTail(actor: LiveActor): Promise<boolean> {
    const tail = await this.deps.store.readStream(agentStream(actor.id), { from: actor.revision + 1n });
    if (tail.length === 0) return false;
    actor.snapshot = this.adopt(fold(tail.map((r) => toDomain(parseRecorded(r))), actor.snapshot));
    actor.revision = tail[tail.length - 1]!.revision;
    actor.changed();
    return true;
  }

  /** The process hosting `id` now (its lease owner), or null if nobody holds its lease. */
  leaseHolder(id: string): Promise<string | null> {
    return this.deps.index.leaseHolder(id);
  }

  get hosted(): number {
    return this.worker?.hostedCount ?? this.actors.size;
  }

  /** Ids of the actors currently live in this process. */
  liveIds(): string[] {
    return [...this.actors.keys()];
  }

  get concurrency(): { running: number; waiting: number } {
    return { running: this.slots.running, waiting: this.slots.waiting };
  }

  async history(id: string): Promise<HistoryEvent[]> {
    const recorded = await this.deps.store.readStream(agentStream(id));
    if (recorded.length === 0) throw new NotFound('agent', id);
    return recorded.map((r) => toHistoryEvent(parseRecorded(r)));
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

  /** Stops effects and waits for those in flight to settle (no new work starts). */
  async close(): Promise<void> {
    // A call already sent is let finish and recorded (up to closeDrainMs): aborted, the next host
    // would ask the model again and the provider bill both, while cadre records one (a new user
    // stopping `cadre serve` mid-call saw 2 requests for 1 recorded call). Nothing new starts.
    this.stopping = true;
    const until = Date.now() + (this.deps.config.closeDrainMs ?? 5_000);
    while (Date.now() < until && [...this.actors.values()].some((a) => a.inflight.call?.sent)) await new Promise((r) => setTimeout(r, 20));
    this.closed = true;
    if (this.sweeper) clearInterval(this.sweeper);
    // Effects queued for a concurrency slot would otherwise wait forever and hold close() up.
    this.slots.close(new StoreClosed());
    await this.following?.close();
    for (const a of this.actors.values()) {
      if (a.timer) clearTimeout(a.timer);
      a.inflight.call?.controller.abort();
    }
    await Promise.allSettled([...this.background]);
    // Released only now: until the effects above have settled, no other process may take the
    // actors over (it would run what is still running here).
    await this.worker?.stop();
  }
}

class StaleActor extends Error {}

const toDomain = (e: ParsedEvent): DomainEvent => ({ type: e.type, data: e.data }) as DomainEvent;

/** The output of this turn's successful `finish` call, if the model made one. */
function finishOutput(c: AgentContext, last: { toolUseId: string; name: string; output: string; isError: boolean }): string | null {
  if (last.name === 'finish' && !last.isError) return last.output;
  const reply = c.transcript[c.transcript.length - 1];
  if (!reply || reply.kind !== 'assistant') return null;
  const finishIds = new Set(reply.content.filter((b) => b.type === 'tool_use' && b.name === 'finish').map((b) => (b as { id: string }).id));
  const done = c.turnResults.find((r) => finishIds.has(r.toolUseId) && !r.isError);
  return done ? done.output : null;
}

function runResult(r: AgentResult, c: AgentContext): RunResult {
  return { status: r.status, output: r.output, budgetConsumed: c.budget.consumed + c.budget.spentBySubtree, reason: r.reason };
}
