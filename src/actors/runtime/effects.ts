import { liveChildren, type AgentContext } from '../agentContext.js';
import { agentMachine, isTerminalStatus, statusOf } from '../agentMachine.js';
import type { LiveActor } from '../liveActor.js';
import type { AgentSnapshot } from '../replay.js';
import { execute } from './commandExecutor.js';
import { onEffectError, runInBackground } from './effectFailure.js';
import { onEnded } from './ending.js';
import { callModel, startTurn } from './modelTurn.js';
import { hostsHere, runningSub, track, type RuntimeContext } from './runtimeContext.js';
import { ensureChildRunning } from './spawning.js';
import { startedEvent } from './runStart.js';
import { armTimer, terminateSubtree } from './terminations.js';
import { runTools } from './toolEffects.js';
import { awaitApproval } from './approvals.js';
import { openWorkspace } from './workspaceEffects.js';

/** The effects the agent machine names, each what one of its actions says is due. */
export type EffectName = 'startRun' | 'decideNext' | 'callModel' | 'runTools' | 'awaitApproval' | 'awaitChildren' | 'terminate' | 'agentEnded';

/**
 * Each effect is a reconciler: it does what the actor's stored state says is due and is safe to
 * run again (`LiveActor.inflight` keeps one already under way from starting twice).
 */
const effects: Record<EffectName, (rt: RuntimeContext, actor: LiveActor) => Promise<void> | void> = {
  startRun,
  decideNext,
  callModel,
  runTools,
  awaitApproval,
  awaitChildren,
  terminate,
  agentEnded: onEnded,
};

/**
 * The effect a resting state says is due. After a restart (or a reload, or events another
 * process wrote) no action fires: this is how the runtime knows what to resume.
 */
export function dueEffect(s: AgentSnapshot): EffectName | null {
  const status = statusOf(s.value);
  if (isTerminalStatus(status)) return 'agentEnded';
  // Being fired: its host ends its children and then it, whatever it was doing.
  if (s.context.terminating) return 'terminate';
  if (status === 'spawned') return s.context.runRequested ? 'startRun' : null;
  switch (runningSub(s.value)) {
    case 'active':
      return 'decideNext';
    case 'awaitingModel':
      return 'callModel';
    case 'usingTools':
      return 'runTools';
    case 'awaitingApproval':
      return 'awaitApproval';
    case 'awaitingChildren':
      return 'awaitChildren';
    default:
      return null;
  }
}

/**
 * Gives the runtime's machine its effects: each named action runs its effect. `childFinished`
 * names no effect of its own: a parent whose child ended does what its state now says is due.
 */
export function wireEffects(rt: RuntimeContext): void {
  const soon = (name: EffectName) => ({ context }: { context: { id: string } }) => schedule(rt, context.id, name);
  rt.effectful = agentMachine.provide({
    actions: {
      startRun: soon('startRun'),
      decideNext: soon('decideNext'),
      callModel: soon('callModel'),
      runTools: soon('runTools'),
      awaitApproval: soon('awaitApproval'),
      awaitChildren: soon('awaitChildren'),
      terminate: soon('terminate'),
      agentEnded: soon('agentEnded'),
      childFinished: ({ context }) => schedule(rt, context.id, null),
    },
  });
  rt.reconcileSoon = (id) => schedule(rt, id, null);
}

/** Does whatever the agent's stored state says is due, once (the recovery path). */
export function reconcile(rt: RuntimeContext, id: string): Promise<void> {
  return runEffect(rt, id, null);
}

function schedule(rt: RuntimeContext, id: string, named: EffectName | null): void {
  if (rt.closed) return;
  // In worker mode only the lease holder runs an actor's effects.
  if (!hostsHere(rt, id)) return;
  queueMicrotask(() => track(rt, runEffect(rt, id, named).catch((err: unknown) => onEffectError(rt, id, err))));
}

/**
 * Runs the effect an action named (`named`), or with none named (a restart, a reload, another
 * process's writes, a child's end) the one the state says is due. A named effect whose state has
 * moved on by now is not due any more: a later event of the same batch entered another state,
 * whose own action runs what is due there (a reply and the end in one batch: only the end runs).
 */
async function runEffect(rt: RuntimeContext, id: string, named: EffectName | null): Promise<void> {
  if (rt.closed) return;
  // Only the lease holder calls the model, runs tools or touches a worktree for an actor.
  if (!hostsHere(rt, id)) return;
  const actor = rt.actors.get(id);
  if (!actor) return;
  const due = dueEffect(actor.snapshot);
  // Closing: nothing new starts, but an ended agent's ending (its worktree committed, merged and
  // removed, its parent told) is let finish (close() waits for it, as for a call already sent).
  if (rt.stopping && due !== 'agentEnded') return;
  armTimer(rt, actor);
  if (!due || (named !== null && named !== due)) return;
  // Being terminated: nothing new starts; only its ending is still due.
  if (due !== 'agentEnded' && actor.inflight.terminating) return;
  // Its worktree before anything that works in it: a fork can open with tool calls to run or
  // children to run (whose worktrees branch from it), not only with a turn to decide.
  if (needsWorktreeFirst(actor, due)) return openWorktreeFirst(rt, actor);
  await effects[due](rt, actor);
}

/** Asked for a worktree it has not made yet (where this process has no repository, making it fails the agent, saying so). */
const worktreeMissing = (c: AgentContext): boolean => Boolean(c.workspaceRequest) && !c.workspace;

/** decideNext makes it itself, holding the agent's slot; the others work in it or branch from it. */
const needsWorktreeFirst = (actor: LiveActor, due: EffectName): boolean =>
  (due === 'runTools' || due === 'awaitApproval' || due === 'awaitChildren') && worktreeMissing(actor.snapshot.context);

async function openWorktreeFirst(rt: RuntimeContext, actor: LiveActor): Promise<void> {
  if (actor.inflight.deciding) return;
  actor.inflight.deciding = true;
  try {
    await openWorkspace(rt, actor);
  } finally {
    actor.inflight.deciding = false;
  }
  rt.reconcileSoon(actor.id); // recording the workspace changes no state: look again
}

async function startRun(rt: RuntimeContext, actor: LiveActor): Promise<void> {
  const c = actor.snapshot.context;
  if (!c.runRequested || actor.inflight.starting) return;
  actor.inflight.starting = true;
  try {
    await rt.slots.acquire(actor.id);
    await execute(rt, actor.id, (x) => (statusOf(x.value) === 'spawned' ? [startedEvent(rt, x.context)] : []));
  } finally {
    actor.inflight.starting = false;
  }
}

/** The next step of a running agent: its worktree first, then a workflow step or a model turn. */
async function decideNext(rt: RuntimeContext, actor: LiveActor): Promise<void> {
  if (actor.inflight.deciding) return;
  actor.inflight.deciding = true;
  try {
    await rt.slots.acquire(actor.id);
    const c = actor.snapshot.context;
    if (worktreeMissing(c)) {
      await openWorkspace(rt, actor);
      actor.inflight.deciding = false;
      rt.reconcileSoon(actor.id); // recording the workspace changes no state: look again
      return;
    }
    if (c.kind === 'workflow' && rt.workflowStep) {
      await rt.workflowStep(actor.id);
      return;
    }
    await startTurn(rt, actor.id);
  } finally {
    actor.inflight.deciding = false;
  }
}

/**
 * Fired by another process (or before a restart): the host ends what it runs, the agent's
 * children and then the agent, as the process that recorded the firing does too (whichever gets
 * there first records each end; the other finds it recorded).
 */
function terminate(rt: RuntimeContext, actor: LiveActor): Promise<void> | void {
  const t = actor.snapshot.context.terminating;
  if (!t) return;
  return terminateSubtree(rt, actor.id, t.reason, t.by);
}

/** Waiting for children: its slot goes to them, and each is opened (if a crash left it unopened) and run. */
function awaitChildren(rt: RuntimeContext, actor: LiveActor): void {
  rt.slots.release(actor.id);
  for (const child of liveChildren(actor.snapshot.context)) void runInBackground(rt, child, ensureChildRunning(rt, actor.id, child));
}
