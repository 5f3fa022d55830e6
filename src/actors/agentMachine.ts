import { assign, setup } from 'xstate';
import type { DomainEvent, EventOf } from '../events/catalogue.js';
import { available } from './budget.js';
import type { AgentContext, AgentStatus } from './agentContext.js';
import { evolve, initialContext, liveChildren } from './agentContext.js';
import type { EventData } from '../events/catalogue.js';

/** Bump when the machine's states or context change shape: older snapshots are then ignored. */
export const AGENT_MACHINE_VERSION = 6;

/** Every pending tool call is parked for approval, none granted: the agent waits for a person. */
export const awaitsApprovalOnly = (c: AgentContext): boolean => {
  const ids = Object.keys(c.pendingTools);
  return ids.length > 0 && ids.every((id) => c.pendingApprovals[id]?.granted === false);
};

const canEnd = ({ context }: { context: AgentContext }): boolean =>
  liveChildren(context).length === 0 && context.budget.reserved === 0;

/** The context of xstate's throwaway actors (see the machine's `context`). */
const UNUSED_CONTEXT = Object.freeze({}) as AgentContext;

/** Events any live agent may record whatever it is doing. */
const anytime = {
  ChildSpawned: { guard: 'fitsSpawn', actions: 'apply' },
  BudgetDelegated: { guard: 'fitsDelegation', actions: 'apply' },
  ChildFinished: { guard: 'isLiveChild', actions: ['apply', 'childFinished'] },
  BudgetReclaimed: { actions: 'apply' },
  BudgetSettled: { actions: 'apply' },
  BudgetReleased: { actions: 'apply' },
  BudgetOverspent: { actions: 'apply' },
  MessageSent: { actions: 'apply' },
  MessageReceived: { actions: 'apply' },
  MessageAcked: { actions: 'apply' },
  WorkspaceCreated: { actions: 'apply' },
  WorkspaceCommitted: { actions: 'apply' },
  WorkspaceMerged: { actions: 'apply' },
  WorkspaceMergeConflicted: { actions: 'apply' },
  WorkflowPlanned: { actions: 'apply' },
  WorkflowPlanRejected: { actions: 'apply' },
  NodeStarted: { actions: 'apply' },
  NodeCompleted: { actions: 'apply' },
  NodeFailed: { actions: 'apply' },
  NodeSkipped: { actions: 'apply' },
  AgentTimedOut: { actions: 'apply' },
  AgentTerminating: { actions: ['apply', 'terminate'] },
  AgentTerminated: { guard: 'canEnd', target: '#agent.terminated', actions: 'apply' },
  AgentFailed: { guard: 'canEnd', target: '#agent.failed', actions: 'apply' },
} as const;

/** What an ended agent may still record: its workspace's fate and late bookkeeping. */
const afterEnd = {
  WorkspaceCommitted: { actions: 'apply' },
  WorkspaceRemoved: { actions: 'apply' },
  WorkspaceMerged: { actions: 'apply' },
  WorkspaceMergeConflicted: { actions: 'apply' },
  MessageAcked: { actions: 'apply' },
} as const;

/**
 * The agent's behaviour as a pure XState machine. Its events are cadre's domain events: every
 * event the machine accepts is exactly what gets stored. It performs no I/O: effects are named
 * here, one per thing that becomes due (`startRun`, `decideNext`, `callModel`, `runTools`,
 * `awaitChildren`, `childFinished`, `agentEnded`), and supplied by the runtime through
 * `machine.provide()`.
 *
 * @example
 * const [s0] = initialTransition(agentMachine, spawnedData);
 * const [s1, actions] = transition(agentMachine, s0, { type: 'AgentStarted', data: { deadline: null } });
 */
export const agentMachine = setup({
  types: {
    context: {} as AgentContext,
    events: {} as DomainEvent,
    input: {} as EventData<'AgentSpawned'>,
  },
  actions: {
    apply: assign(({ context, event }) => evolve(context, event)),
    startRun: () => {},
    decideNext: () => {},
    callModel: () => {},
    runTools: () => {},
    awaitApproval: () => {},
    awaitChildren: () => {},
    childFinished: () => {},
    terminate: () => {},
    agentEnded: () => {},
  },
  guards: {
    canEnd,
    startedInOpening: ({ context }) => context.started,
    fitsReservation: ({ context, event }) => (event as EventOf<'BudgetReserved'>).data.amount <= available(context.budget),
    fitsRequest: ({ context, event }) => {
      const d = (event as EventOf<'ModelRequested'>).data;
      return !d.reserves || d.reserved <= available(context.budget);
    },
    fitsSpawn: ({ context, event }) => {
      const d = (event as EventOf<'ChildSpawned'>).data;
      return !d.delegatesBudget || d.budget <= available(context.budget);
    },
    fitsDelegation: ({ context, event }) => (event as EventOf<'BudgetDelegated'>).data.amount <= available(context.budget),
    isLiveChild: ({ context, event }) => context.children[(event as EventOf<'ChildFinished'>).data.childId]?.status === 'live',
    isCurrentCall: ({ context, event }) => context.pendingCall?.callId === (event as EventOf<'ModelReplied'>).data.callId,
    isLastPendingTool: ({ context, event }) => {
      const id = (event as EventOf<'ToolReturned'>).data.toolUseId;
      return id in context.pendingTools && Object.keys(context.pendingTools).length === 1;
    },
    isPendingTool: ({ context, event }) => (event as EventOf<'ToolReturned'>).data.toolUseId in context.pendingTools,
    isUnaskedTool: ({ context, event }) => {
      const id = (event as EventOf<'ApprovalRequested'>).data.callId;
      return id in context.pendingTools && !(id in context.pendingApprovals);
    },
    isUnansweredApproval: ({ context, event }) => context.pendingApprovals[(event as EventOf<'ApprovalGranted'>).data.callId]?.granted === false,
    awaitsApprovalOnly: ({ context }) => awaitsApprovalOnly(context),
    notOnlyApprovals: ({ context }) => !awaitsApprovalOnly(context),
    // An agent that asked for a worktree opens it before its children start, so they branch from it.
    readyToAwaitChildren: ({ context }) => liveChildren(context).length > 0 && (context.workspaceRequest === null || context.workspace !== null),
    noLiveChildren: ({ context }) => liveChildren(context).length === 0,
    isCurrentCallWithTools: ({ context, event }) => {
      const e = event as EventOf<'ModelReplied'>;
      return context.pendingCall?.callId === e.data.callId && e.data.content.some((b) => b.type === 'tool_use');
    },
  },
}).createMachine({
  id: 'agent',
  // xstate's pure transition() builds a throwaway actor per call, without input: a context from
  // undefined threw a TypeError there every time, and the thrown error's stack made each
  // transition cost ~140 µs instead of ~20 µs. That throwaway context is never read.
  context: ({ input }) => (input === undefined ? UNUSED_CONTEXT : initialContext(input)),
  initial: 'spawned',
  states: {
    spawned: {
      // Started in its opening (AgentSpawned's `started`): running from its first event.
      always: { guard: 'startedInOpening', target: 'running' },
      on: {
        ...anytime,
        // A workflow's planning call (decompose.ts) is made before the workflow runs, and holds
        // its reservation from before the call, as a model turn's request does.
        BudgetReserved: { guard: 'fitsReservation', actions: 'apply' },
        AgentRunRequested: { actions: ['apply', 'startRun'] },
        AgentStarted: { target: 'running', actions: 'apply' },
      },
    },
    running: {
      initial: 'active',
      on: anytime,
      states: {
        /** Deciding the next step: a model turn, a workflow step, or the end. */
        active: {
          entry: 'decideNext',
          always: { guard: 'readyToAwaitChildren', target: 'awaitingChildren' },
          on: {
            BudgetReserved: { guard: 'fitsReservation', actions: 'apply' },
            ModelRequested: { guard: 'fitsRequest', target: 'awaitingModel', actions: 'apply' },
            AgentCompleted: { guard: 'canEnd', target: '#agent.completed', actions: 'apply' },
          },
        },
        /** A model call is in flight (its reservation is held). */
        awaitingModel: {
          entry: 'callModel',
          on: {
            ModelReplied: [
              { guard: 'isCurrentCallWithTools', target: 'usingTools', actions: 'apply' },
              { guard: 'isCurrentCall', target: 'active', actions: 'apply' },
            ],
            ModelFailed: { guard: 'isCurrentCall', target: 'active', actions: 'apply' },
          },
        },
        /** Tools the model asked for are running (a spawn waits for its child here). */
        usingTools: {
          entry: 'runTools',
          always: { guard: 'awaitsApprovalOnly', target: 'awaitingApproval' },
          on: {
            ToolCalled: { actions: 'apply' },
            ToolReturned: [
              { guard: 'isLastPendingTool', target: 'active', actions: 'apply' },
              { guard: 'isPendingTool', actions: 'apply' },
            ],
            ApprovalRequested: { guard: 'isUnaskedTool', actions: 'apply' },
            ApprovalGranted: { guard: 'isUnansweredApproval', actions: 'apply' },
            ApprovalDenied: { guard: 'isUnansweredApproval', actions: 'apply' },
            AgentCompleted: { guard: 'canEnd', target: '#agent.completed', actions: 'apply' },
          },
        },
        /** Every pending call waits for a person's answer (ApprovalRequested): no slot is held. */
        awaitingApproval: {
          entry: 'awaitApproval',
          always: { guard: 'notOnlyApprovals', target: 'usingTools' },
          on: {
            ApprovalGranted: { guard: 'isUnansweredApproval', actions: 'apply' },
            ApprovalDenied: { guard: 'isUnansweredApproval', actions: 'apply' },
            ToolReturned: [
              { guard: 'isLastPendingTool', target: 'active', actions: 'apply' },
              { guard: 'isPendingTool', actions: 'apply' },
            ],
          },
        },
        /** Subordinates (spawned by the caller, or a workflow's nodes) are still running. */
        awaitingChildren: {
          entry: 'awaitChildren',
          always: { guard: 'noLiveChildren', target: 'active' },
        },
      },
    },
    completed: { entry: 'agentEnded', on: afterEnd },
    failed: { entry: 'agentEnded', on: afterEnd },
    terminated: { entry: 'agentEnded', on: afterEnd },
  },
});

export type AgentMachine = typeof agentMachine;

/**
 * The state value the machine reaches for a context that ends a complete append (a batch).
 * Every stored batch leaves the agent at rest, where its state is a function of its context;
 * recovery uses this to restore thousands of actors without stepping the interpreter through
 * every event (a unit test holds it equal to the machine's own fold).
 */
export function restingStateValue(c: AgentContext): 'spawned' | 'completed' | 'failed' | 'terminated' | { running: string } {
  if (c.result) return c.result.status;
  if (!c.started) return 'spawned';
  if (c.pendingCall) return { running: 'awaitingModel' };
  if (Object.keys(c.pendingTools).length > 0) return { running: awaitsApprovalOnly(c) ? 'awaitingApproval' : 'usingTools' };
  if (liveChildren(c).length > 0 && (c.workspaceRequest === null || c.workspace !== null)) return { running: 'awaitingChildren' };
  return { running: 'active' };
}

/** The status users see, from the machine's state value. */
export function statusOf(value: unknown): AgentStatus {
  if (value === 'spawned' || value === 'completed' || value === 'failed' || value === 'terminated') return value;
  if (typeof value === 'object' && value !== null && 'running' in value) {
    const sub = (value as { running: string }).running;
    return sub === 'awaitingModel' || sub === 'awaitingChildren' || sub === 'awaitingApproval' ? 'waiting' : 'running';
  }
  return 'running';
}

export { isTerminalStatus } from './agentContext.js';
