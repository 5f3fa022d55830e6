import type { AgentRuntime, EndedChild, PlannedSpawn, RunResult } from '../actors/runtime.js';
import type { AgentSnapshot } from '../actors/replay.js';
import type { DomainEvent } from '../events/catalogue.js';
import { liveChildren, type AgentContext } from '../actors/agentContext.js';
import { agentMachine } from '../actors/agentMachine.js';
import { pureTransition } from '../actors/pureTransition.js';
import { silentLogger, type Logger } from '../actors/ports/runtimePorts.js';
import { ConfigError, InvalidInput, isCadreError } from '../errors.js';
import { systemIds } from '../infra/ids.js';
import { validateGraph, type WorkflowGraph } from './graph.js';
import { nextStep, nodeState, planValidated, type NodeStart, type WorkflowStep } from './scheduler.js';
import { templateGraph, TemplateRegistry } from './templates.js';
import { planFromSpawn } from './planFromSpawn.js';
import { workflowSubState } from './workflowSubState.js';

/**
 * The glue between the pure scheduler and the actor runtime: it is the runtime's
 * `workflowStep`, and it spawns, records and watches node children. Every decision is taken
 * again on the actor's current state inside `runtime.execute`, and child ids are derived from
 * (workflow, node, attempt), so a crash between any two appends never starts a node twice.
 */

/** What a workflow is made from: a template or a graph. */
export type WorkflowSource = { readonly templateId: string } | { readonly graph: unknown };

export interface SpawnWorkflowOptions {
  readonly task: string;
  /** Tokens for the whole workflow; nodes get their percents of it. */
  readonly budget: number;
  /** A git worktree for the workflow; node children then work in worktrees branched from it. */
  readonly workspace?: boolean | { readonly base?: string };
  /** A fixed id (idempotent retries by the caller); default: a fresh uuid. */
  readonly id?: string;
  readonly timeoutMs?: number;
  readonly model?: string;
  /**
   * Start it at once, in its spawn's commit with its first nodes (one commit fewer than a spawn
   * and a `run()`); `run()` or `result()` then waits for its end.
   */
  readonly start?: boolean;
}

export interface WorkflowsOptions {
  /** Templates for `{ templateId }` and the roles they add; default: none (built-in roles only). */
  readonly templates?: TemplateRegistry;
  readonly logger?: Logger;
  /** Must derive the same ids as before a restart; default: the system's uuid-shaped hash. */
  readonly ids?: { derive(namespace: string, name: string): string };
}

/** Anything that holds a runtime: the runtime itself, an AgentSystem (`system.internal.runtime`), or `{ runtime }`. */
export type RuntimeLike = AgentRuntime | { readonly runtime: AgentRuntime } | { readonly internal: { readonly runtime: AgentRuntime } };
export const runtimeOf = (r: RuntimeLike): AgentRuntime => {
  if ('internal' in r) return r.internal.runtime;
  return 'runtime' in r && !('execute' in r) ? r.runtime : (r as AgentRuntime);
};

const attached = new WeakMap<AgentRuntime, Workflows>();

/**
 * Makes a runtime run workflow agents: sets `runtime.workflowStep`. Call it before
 * `runtime.recover()` so that recovered workflows step through the scheduler, and call
 * `resume()` after it.
 *
 * @example
 * const workflows = attachWorkflows(runtime, { templates: await loadTemplates(), logger });
 * await runtime.recover();
 * await workflows.resume();
 * const id = await workflows.spawn({ templateId: 'tdd-workflow' }, { task: 'Add a slug helper', budget: 50_000 });
 * await runtime.run(id);
 */
export function attachWorkflows(runtime: AgentRuntime, options: WorkflowsOptions = {}): Workflows {
  const w = new Workflows(runtime, options);
  attached.set(runtime, w);
  runtime.workflowStep = (id) => w.step(id);
  runtime.childEndEvents = (parent, ended, terminating) => w.nodeOutcome(parent, ended, terminating);
  runtime.nextSpawns = (parent) => w.nextSpawns(parent);
  return w;
}

/** The workflows attached to a runtime; throws ConfigError when `attachWorkflows` was not called. */
export function workflowsOf(target: RuntimeLike): Workflows {
  const w = attached.get(runtimeOf(target));
  if (!w) throw new ConfigError('workflows', 'workflows are not attached to this runtime: call attachWorkflows(runtime) first');
  return w;
}

/**
 * Spawns a workflow agent from a template or a graph (validated first: nothing is written for an
 * invalid one) and records its plan. It does not run: call `runWorkflow`.
 *
 * @example
 * const id = await spawnWorkflow(system, { templateId: 'backend-dev-workflow' }, { task: 'Add /health', budget: 40_000 });
 */
export function spawnWorkflow(target: RuntimeLike, source: WorkflowSource, options: SpawnWorkflowOptions): Promise<string> {
  return workflowsOf(target).spawn(source, options);
}

/**
 * Runs a workflow agent (idempotent: on a running one it waits) and resolves at its end.
 *
 * @example
 * const result = await runWorkflow(system, id); // { status, output, budgetConsumed, reason }
 */
export function runWorkflow(target: RuntimeLike, id: string): Promise<RunResult> {
  return runtimeOf(target).run(id);
}

const MAX_REMEMBERED_CHILD_IDS = 10_000;

interface Loop {
  again: boolean;
  done: Promise<void>;
}

export class Workflows {
  readonly templates: TemplateRegistry;
  private readonly logger: Logger;
  private readonly ids: { derive(namespace: string, name: string): string };
  private readonly loops = new Map<string, Loop>();
  private readonly watched = new Set<string>();
  private readonly reasons = new Map<string, { reason: string; cause: string | null }>();
  private readonly childIds = new Map<string, string>();
  private detached = false;

  constructor(
    readonly runtime: AgentRuntime,
    options: WorkflowsOptions = {},
  ) {
    this.templates = options.templates ?? new TemplateRegistry();
    this.logger = options.logger ?? silentLogger;
    this.ids = options.ids ?? systemIds;
  }

  /** Roles a graph may use (built-in plus template roles). */
  roles(): string[] {
    return this.templates.roles();
  }

  /** The id of a node attempt's child: the same in every process, so a retried spawn is a no-op. */
  childIdFor(workflowId: string, nodeId: string, attempt: number): string {
    // Remembered: every scheduler step asks again for each pending node's id, a sha256 each
    // (~0.2 ms of a 4-node workflow run's ~17 ms CPU, .prof/wfd.mjs --cpu-prof). `derive` is a
    // pure function of its arguments (the same in every process), so nothing here goes stale;
    // emptied when large rather than tracking which workflows ended.
    const key = `${workflowId}\u0000${nodeId}\u0000${attempt}`;
    let id = this.childIds.get(key);
    if (id === undefined) {
      if (this.childIds.size >= MAX_REMEMBERED_CHILD_IDS) this.childIds.clear();
      id = this.ids.derive(workflowId, `node:${nodeId}#${attempt}`);
      this.childIds.set(key, id);
    }
    return id;
  }

  /** See `spawnWorkflow`. */
  async spawn(source: WorkflowSource, options: SpawnWorkflowOptions): Promise<string> {
    const template = 'templateId' in source ? this.templates.get(source.templateId) : null;
    const graph: WorkflowGraph = template ? templateGraph(template) : planValidated(validateGraph((source as { graph: unknown }).graph, { roles: this.roles() }));
    const planned: DomainEvent = { type: 'WorkflowPlanned', data: { source: template ? 'template' : 'graph', templateId: template?.id ?? null, graph } };
    // The plan is stored in the opening append (one commit, not two), so the graph is not repeated
    // in AgentSpawned (older records did: ~850 bytes of a 4-node run, issue 19; planFromSpawn reads those).
    const id = await this.runtime.spawnRoot(
      {
        role: template?.id ?? 'workflow',
        task: options.task,
        budget: options.budget,
        ...(options.id ? { id: options.id } : {}),
        ...(options.workspace !== undefined ? { workspace: options.workspace } : {}),
        ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}),
        ...(options.model ? { model: options.model } : {}),
      },
      { kind: 'workflow' },
      [planned],
      { start: startOption(options.start) },
    );
    // Opened before by an opening without it (a spawn run again with the same id): stored now.
    await this.runtime.execute(id, (s) => (s.context.plan ? [] : [planned]), { causationId: 'api:spawnWorkflow' });
    return id;
  }

  /** Steps every live workflow of this process (after `runtime.recover()`). */
  async resume(): Promise<void> {
    const ids: string[] = [];
    for (const id of this.runtime.liveIds()) {
      const actor = await this.runtime.actor(id).catch(() => null);
      if (actor?.snapshot.context.kind === 'workflow') ids.push(id);
    }
    await Promise.all(ids.map((id) => this.step(id).catch((err: unknown) => this.logger.error({ agentId: id, err: describe(err) }, 'workflow step failed'))));
  }

  /** Stops reacting (the runtime's hook is removed); in-flight steps finish. */
  detach(): void {
    this.detached = true;
    if (this.runtime.workflowStep) this.runtime.workflowStep = null;
    this.runtime.childEndEvents = null;
    this.runtime.nextSpawns = null;
    attached.delete(this.runtime);
  }

  /**
   * Advances one workflow until nothing more can be done now. Calls for the same workflow
   * coalesce: while a step runs, another request makes it go round once more.
   */
  step(id: string): Promise<void> {
    const running = this.loops.get(id);
    if (running) {
      running.again = true;
      return running.done;
    }
    const loop: Loop = { again: false, done: Promise.resolve() };
    this.loops.set(id, loop);
    loop.done = this.loop(id, loop);
    return loop.done;
  }

  private async loop(id: string, loop: Loop): Promise<void> {
    try {
      for (let rounds = 0; ; rounds++) {
        loop.again = false;
        const progressed = this.detached ? false : await this.stepOnce(id);
        // Checked and cleared in the same tick, so a request arriving later starts a new loop.
        if (!progressed && !loop.again) return;
        if (rounds > 10_000) throw new Error(`workflow ${id} did not settle`);
      }
    } finally {
      if (this.loops.get(id) === loop) this.loops.delete(id);
    }
  }

  /** One decision on the current state; true when something was recorded or spawned. */
  private async stepOnce(id: string): Promise<boolean> {
    // Ended here (its last node's watch steps it once more): nothing to read back.
    if (this.runtime.settledHere(id)) return false;
    const actor = await this.runtime.actor(id);
    const s = actor.snapshot;
    const c = s.context;
    if (c.kind !== 'workflow' || workflowSubState(s) === null) return false;
    // Being fired (here or, as its stream says, by another process) or timed out: its children
    // are ending on purpose, so nothing may be retried or started.
    if (actor.beingEnded) return false;
    if (!c.plan) return this.planFromSpawn(id);
    const failures = await this.failures(s);
    const failureReasons = Object.fromEntries(Object.entries(failures).map(([k, f]) => [k, f.reason]));
    const failureCauses = Object.fromEntries(Object.entries(failures).flatMap(([k, f]) => (f.cause ? [[k, f.cause]] : [])));
    const decide = (snap: AgentSnapshot): WorkflowStep =>
      nextStep({ context: snap.context, childIdFor: (n, a) => this.childIdFor(id, n, a), failureReasons, failureCauses, canEnd: canEnd(snap) });
    const step = decide(s);
    switch (step.kind) {
      case 'record':
      case 'end': {
        const kind = step.kind;
        const stored = await this.runtime.execute(id, (snap) => {
          if (snap.context.terminating) return [];
          const again = decide(snap);
          return again.kind === kind ? again.events : [];
        }, { causationId: `workflow:${id}` });
        // Ended: no step is left (another round read the ended workflow back from its stream).
        return kind === 'record' || stored.length === 0;
      }
      case 'start':
        for (const start of step.starts) await this.start(id, start);
        return true;
      case 'wait':
        for (const nodeId of Object.keys(c.nodes)) {
          const st = c.nodes[nodeId]!;
          if (st.status === 'running' && st.childId && c.children[st.childId]?.status === 'live') this.watch(id, st.childId);
        }
        return false;
      case 'plan_missing':
        return false;
      default:
        return assertNever(step);
    }
  }

  /**
   * Spawns a node's child (a no-op if it exists), its ChildSpawned starting the node (v4), and
   * runs it. A child an older record spawned without starting its node (a ChildSpawned before v4
   * whose NodeStarted was not stored) gets a NodeStarted on its own: the one NodeStarted still written.
   */
  private async start(id: string, start: NodeStart): Promise<void> {
    if (!start.spawned) {
      if ((await this.runtime.actor(id)).beingEnded) return;
      await this.runtime.spawnChild(id, nodeSpawnConfig(start), { nodeId: start.nodeId, nodeAttempt: start.attempt, run: true });
    }
    await this.runtime.execute(id, (snap) => nodeStartedEvents(snap.context, start), { causationId: `workflow:${id}` });
    this.logger.debug({ agentId: id, nodeId: start.nodeId, childId: start.childId, attempt: start.attempt }, 'workflow node started');
    this.watch(id, start.childId);
  }

  /**
   * The outcome of the node whose child just ended, decided as the next step would decide it, so
   * that it is stored in the same append as the workflow's record of the child's end: NodeFailed
   * with whether it is retried (a completed node is completed by that record itself, ChildFinished
   * v3; a NodeCompleted only where it did not, as the step would record it). Nothing when the next
   * step would record more than this child's outcome (another child's end, whose reason is read
   * from its stream) or the workflow is being ended: the step records those.
   */
  nodeOutcome(s: AgentSnapshot, ended: EndedChild, terminating: boolean): DomainEvent[] {
    const c = s.context;
    if (this.detached || terminating || c.kind !== 'workflow' || !c.plan) return [];
    const step = nextStep({
      context: c,
      childIdFor: (n, a) => this.childIdFor(c.id, n, a),
      failureReasons: ended.reason !== null ? { [ended.childId]: ended.reason } : {},
      failureCauses: ended.cause !== null ? { [ended.childId]: ended.cause } : {},
      canEnd: false,
    });
    let outcome: DomainEvent[] = [];
    if (step.kind === 'record') {
      const ofThisChild = step.events.every((e) => (e.type === 'NodeCompleted' || e.type === 'NodeFailed') && e.data.childId === ended.childId);
      if (!ofThisChild) return [];
      outcome = step.events;
    } else if (!Object.values(c.nodes).some((n) => n.status === 'completed' && n.childId === ended.childId)) {
      return []; // no node of this child ended by its record
    }
    // The last node done and every node completed: the workflow's own completion goes in the same
    // append (the commit of the node's end, when it rides there) instead of a step and a commit
    // of its own. A failed end is left to the step, which reads the failures it names.
    let after = s;
    for (const e of outcome) after = pureTransition(agentMachine, after, e)[0];
    const end = nextStep({ context: after.context, childIdFor: (n, a) => this.childIdFor(c.id, n, a), canEnd: canEnd(after) });
    return end.kind === 'end' && end.events[0]?.type === 'AgentCompleted' ? [...outcome, ...end.events] : outcome;
  }

  /**
   * The nodes the next step would start, decided on the workflow's state with a node child's end
   * recorded, so that they are spawned (and their children opened) in that record's commit. None
   * when the step would do anything else first, or adopts a child a crash left spawned.
   */
  nextSpawns(s: AgentSnapshot): PlannedSpawn[] {
    const c = s.context;
    if (this.detached || c.kind !== 'workflow' || !c.plan || c.terminating) return [];
    const step = nextStep({ context: c, childIdFor: (n, a) => this.childIdFor(c.id, n, a), canEnd: false });
    if (step.kind !== 'start' || step.starts.some((st) => st.spawned)) return [];
    return step.starts.map((st) => ({ config: nodeSpawnConfig(st), extra: { nodeId: st.nodeId, nodeAttempt: st.attempt } }));
  }

  /** Runs a node child and steps the workflow when it has ended (and the workflow knows). */
  private watch(workflowId: string, childId: string): void {
    if (this.watched.has(childId)) return;
    this.watched.add(childId);
    void this.runtime
      .run(childId)
      .then(() => this.step(workflowId))
      .catch((err: unknown) => {
        if (this.detached) return;
        // Closing under a running workflow (Ctrl-C): the next start picks the node up; not an error.
        if (isCadreError(err) && err.code === 'STORE_CLOSED') this.logger.debug({ agentId: workflowId, childId }, 'workflow node watch stopped: the store closed');
        else this.logger.error({ agentId: workflowId, childId, err: describe(err) }, 'workflow node watch failed');
      })
      .finally(() => this.watched.delete(childId));
  }

  /** The AgentFailed reason and cause of node children that ended badly (read once from their streams). */
  private async failures(s: AgentSnapshot): Promise<Record<string, { reason: string; cause: string | null }>> {
    const c = s.context;
    const out: Record<string, { reason: string; cause: string | null }> = {};
    for (const st of Object.values(c.nodes)) {
      if (st.status !== 'running' || !st.childId) continue;
      const child = c.children[st.childId];
      if (!child || child.status === 'live' || child.status === 'completed') continue;
      let failure = this.reasons.get(st.childId);
      if (failure === undefined) {
        const ended = await this.runtime.replay(st.childId).catch(() => null);
        failure = { reason: ended?.result?.reason ?? `child agent ${child.status}`, cause: ended?.result?.cause ?? null };
        this.reasons.set(st.childId, failure);
      }
      out[st.childId] = failure;
    }
    return out;
  }

  /** Records the plan from the graph in AgentSpawned, or the failure of a workflow without one (planFromSpawn.ts). */
  private async planFromSpawn(id: string): Promise<boolean> {
    await this.runtime.execute(id, planFromSpawn, { causationId: `workflow:${id}` });
    return true;
  }
}

/** What a node attempt's child is spawned with. */
const nodeSpawnConfig = (start: NodeStart): PlannedSpawn['config'] => ({ id: start.childId, role: start.role, task: start.task, budget: start.budget });

/**
 * NodeStarted for `start`, on the workflow's context with its child spawned; [] when the node is
 * started already (by the child's ChildSpawned v4, or an older record's NodeStarted).
 */
function nodeStartedEvents(c: AgentContext, start: NodeStart): DomainEvent[] {
  const st = nodeState(c, start.nodeId);
  const child = c.children[start.childId];
  if (st.status !== 'pending' || st.attempt !== start.attempt - 1 || !child) return [];
  return [{ type: 'NodeStarted', data: { nodeId: start.nodeId, childId: start.childId, attempt: start.attempt, budget: child.budget } }];
}

/** A workflow may record its end only where the machine accepts AgentCompleted. */
function canEnd(s: AgentSnapshot): boolean {
  return workflowSubState(s) === 'active' && liveChildren(s.context).length === 0 && s.context.budget.reserved === 0;
}

const describe = (err: unknown): string => (isCadreError(err) || err instanceof Error ? err.message : String(err));

function assertNever(x: never): never {
  throw new Error(`unhandled workflow step ${JSON.stringify(x)}`);
}

/** `start`, checked: a caller's non-boolean is refused, naming it, not read as truthy. */
function startOption(start: unknown): boolean {
  if (start === undefined || typeof start === 'boolean') return start ?? false;
  throw new InvalidInput('start', `must be true or false, got ${JSON.stringify(start)}`);
}
