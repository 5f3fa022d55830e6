import type { EventData, EventType } from '../events/catalogue.js';
import type { BudgetLedger } from './budget.js';
import { delegate, openLedger, reclaim, release, reserve, settle } from './budget.js';
import { totalTokens } from './ports/modelProvider.js';
import { addUsd } from './pricing.js';

export type AgentStatus = 'spawned' | 'running' | 'waiting' | 'completed' | 'failed' | 'terminated';

/** Whether a status is an end. Here, beside the type, not in agentMachine.ts: views import it without loading xstate. */
export const isTerminalStatus = (s: AgentStatus): s is 'completed' | 'failed' | 'terminated' =>
  s === 'completed' || s === 'failed' || s === 'terminated';
export type TerminalStatus = 'completed' | 'failed' | 'terminated';

export interface ChildRecord {
  readonly role: string;
  readonly task: string;
  readonly kind: 'agent' | 'workflow';
  readonly budget: number;
  readonly status: 'live' | TerminalStatus;
  readonly output: string | null;
  readonly toolUseId: string | null;
  readonly nodeId: string | null;
  /** What the child's stream is opened with besides the fields above; null if recorded by ChildSpawned v1. */
  readonly spec: EventData<'ChildSpawned'>['spec'];
}

export interface PendingCall {
  readonly callId: string;
  readonly turn: number;
  readonly requestRef: string;
  readonly reserved: number;
}

export interface PendingTool {
  readonly name: string;
  readonly input: unknown;
}

/** A tool call parked until a person answers (ApprovalRequested); `granted` once approved, until it returns. */
export interface PendingApproval {
  readonly tool: string;
  readonly input: unknown;
  readonly requestedAt: string;
  readonly expiresAt: string | null;
  readonly granted: boolean;
}

/** One transcript entry: what the model said, or what the tools answered. */
export type TranscriptEntry =
  | { readonly kind: 'assistant'; readonly content: EventData<'ModelReplied'>['content'] }
  | { readonly kind: 'tool_results'; readonly results: ReadonlyArray<{ toolUseId: string; output: string; isError: boolean }> };

export interface NodeState {
  readonly status: 'pending' | 'running' | 'completed' | 'failed' | 'skipped';
  readonly childId: string | null;
  readonly attempt: number;
  readonly output: string | null;
}

export interface AgentResult {
  readonly status: TerminalStatus;
  readonly output: string | null;
  readonly reason: string | null;
  readonly cause: string | null;
}

/**
 * Everything an agent knows, derived only from its own events. Pure data: it is the XState
 * context, it is what snapshots store, and `state()` reads from it.
 */
export interface AgentContext {
  readonly id: string;
  readonly parentId: string | null;
  readonly rootId: string;
  readonly depth: number;
  readonly kind: 'agent' | 'workflow';
  readonly role: string;
  readonly task: string;
  readonly model: string | null;
  readonly maxTurns: number;
  readonly timeoutMs: number | null;
  readonly workspaceRequest: { base?: string | undefined; repo?: string | undefined } | null;
  readonly graph: unknown;
  readonly nodeId: string | null;
  /** The user tools it may call, by name. */
  readonly tools: readonly string[];
  readonly instructions: string | null;
  /** The JSON Schema its result must satisfy (spawn's `output`), or null for free text. */
  readonly outputSchema: Readonly<Record<string, unknown>> | null;
  /** How many of its `finish` answers failed that schema: the first is sent back to the model, the second fails it. */
  readonly outputRejections: number;
  readonly budget: BudgetLedger;
  readonly costUsd: number;
  readonly runRequested: boolean;
  /** AgentStarted recorded (or AgentSpawned's `started`): the agent left `spawned`. */
  readonly started: boolean;
  readonly deadline: string | null;
  readonly timedOut: boolean;
  /** AgentTerminating recorded: being fired, by whom and why; its end (AgentTerminated) is due. */
  readonly terminating: { readonly reason: string; readonly by: string | null } | null;
  readonly turn: number;
  readonly pendingCall: PendingCall | null;
  readonly pendingTools: Readonly<Record<string, PendingTool>>;
  /** Pending tool calls that needed approval, by toolUseId: asked, or granted and not yet returned. */
  readonly pendingApprovals: Readonly<Record<string, PendingApproval>>;
  /** Tool results of the current turn, collected until every tool has returned. */
  readonly turnResults: ReadonlyArray<{ toolUseId: string; output: string; isError: boolean }>;
  readonly transcript: readonly TranscriptEntry[];
  readonly lastText: string | null;
  readonly children: Readonly<Record<string, ChildRecord>>;
  readonly childOrder: readonly string[];
  readonly workspace: { path: string; branch: string; baseBranch: string; baseCommit: string } | null;
  readonly workspaceRemoved: boolean;
  readonly lastCommit: string | null;
  readonly merges: ReadonlyArray<{ childId: string; status: 'merged' | 'conflict'; files: readonly string[] }>;
  readonly plan: { source: string; templateId: string | null; graph: unknown } | null;
  readonly nodes: Readonly<Record<string, NodeState>>;
  readonly messages: { readonly sent: number; readonly received: number; readonly acked: number };
  readonly result: AgentResult | null;
  /**
   * A fork's source (AgentSpawned.forkedFrom): a tool call it carried over runs with the key the
   * source's call had, so a tool that deduplicates on it does the work once for both. Absent on
   * every other agent (and so on their snapshots and golden states).
   */
  readonly toolKeyScope?: string;
}

export function initialContext(d: EventData<'AgentSpawned'>): AgentContext {
  return {
    id: d.agentId,
    parentId: d.parentId,
    rootId: d.rootId,
    depth: d.depth,
    kind: d.kind,
    role: d.role,
    task: d.task,
    model: d.model,
    maxTurns: d.maxTurns,
    timeoutMs: d.timeoutMs,
    workspaceRequest: d.workspace,
    graph: d.graph ?? null,
    nodeId: d.nodeId ?? null,
    tools: d.tools ?? [],
    instructions: d.instructions ?? null,
    outputSchema: d.output ?? null,
    outputRejections: 0,
    budget: openLedger(d.budget),
    costUsd: 0,
    // AgentSpawned's `started`: it started in its opening, as an AgentStarted after it would say.
    runRequested: d.started !== undefined,
    started: d.started !== undefined,
    deadline: d.started?.deadline ?? null,
    timedOut: false,
    terminating: null,
    turn: 0,
    pendingCall: null,
    pendingTools: {},
    pendingApprovals: {},
    turnResults: [],
    transcript: [],
    lastText: null,
    children: {},
    childOrder: [],
    workspace: null,
    workspaceRemoved: false,
    lastCommit: null,
    merges: [],
    plan: null,
    nodes: {},
    messages: { sent: 0, received: 0, acked: 0 },
    result: null,
    ...(d.forkedFrom ? { toolKeyScope: d.forkedFrom.sourceId } : {}),
  };
}

const withBudget = (c: AgentContext, budget: BudgetLedger): AgentContext => ({ ...c, budget });

/** Live children, in spawn order. */
export const liveChildren = (c: AgentContext): string[] => c.childOrder.filter((id) => c.children[id]?.status === 'live');

/**
 * What a running agent is doing, in words for the live views: `status` says "waiting" both
 * during a model call and while children work, which told a user nothing. Read off the context
 * as the machine's resting state is (agentMachine's restingStateValue); null before it starts
 * and once it ended, when the status says it all.
 *
 * @example
 * activityOf(context) // 'calling model' | 'running tools' | 'waiting for approval (1 call)' | 'waiting for 2 children' | 'thinking' | null
 */
export function activityOf(c: AgentContext): string | null {
  if (c.result) return null;
  if (c.terminating) return 'terminating';
  if (!c.started) return null;
  if (c.pendingCall) return 'calling model';
  const pending = Object.keys(c.pendingTools);
  if (pending.length > 0) {
    const parked = pending.filter((id) => c.pendingApprovals[id]?.granted === false).length;
    // A parked call waits for a person, not for a process: say so, however it is hosted.
    return parked === pending.length ? `waiting for approval (${parked} ${parked === 1 ? 'call' : 'calls'})` : 'running tools';
  }
  const children = liveChildren(c).length;
  if (children > 0 && (c.workspaceRequest === null || c.workspace !== null)) return `waiting for ${children} ${children === 1 ? 'child' : 'children'}`;
  return 'thinking';
}

/**
 * The context after one accepted event. The machine decides *whether* an event is accepted;
 * this decides what it changes. Pure.
 */
export function evolve(c: AgentContext, e: { type: string; data: unknown }): AgentContext {
  const ev = e as AnyEvent;
  switch (ev.type) {
    case 'AgentSpawned':
      return initialContext(ev.data);
    case 'AgentRunRequested':
      return { ...c, runRequested: true };
    case 'AgentStarted':
      return { ...c, runRequested: true, started: true, deadline: ev.data.deadline };
    case 'ChildSpawned': {
      const d = ev.data;
      const child: ChildRecord = { role: d.role, task: d.task, kind: d.kind, budget: d.budget, status: 'live', output: null, toolUseId: d.toolUseId ?? null, nodeId: d.nodeId ?? null, spec: d.spec };
      let next: AgentContext = { ...c, children: { ...c.children, [d.childId]: child }, childOrder: [...c.childOrder, d.childId] };
      // v4 starts its node itself; a v1 to v3 record of a node's child was followed by a NodeStarted.
      if (d.nodeAttempt !== null && d.nodeId !== undefined) next = nodeStarted(next, d.nodeId, d.childId, d.nodeAttempt);
      return d.delegatesBudget ? withBudget(next, delegate(c.budget, d.childId, d.budget)) : next;
    }
    case 'BudgetDelegated':
      return withBudget(c, delegate(c.budget, ev.data.childId, ev.data.amount));
    case 'ChildFinished': {
      const d = ev.data;
      const prev = c.children[d.childId];
      if (!prev) return c;
      let next: AgentContext = { ...c, children: { ...c.children, [d.childId]: { ...prev, status: d.status, output: d.output } } };
      // v3 completes its node itself; a v1 or v2 record of a node's end was followed by a NodeCompleted.
      if (d.completesNode !== null) next = nodeCompleted(next, d.completesNode, d.output ?? '');
      // v2 returns the budget itself; a v1 record was followed by a BudgetReclaimed.
      return d.reclaim ? withBudget(next, reclaim(c.budget, d.childId, d.reclaim.returned, d.reclaim.overspent)) : next;
    }
    case 'BudgetReclaimed':
      return withBudget(c, reclaim(c.budget, ev.data.childId, ev.data.returned, ev.data.overspent));
    case 'BudgetOverspent':
      return c; // a record: the settling reply (or BudgetSettled) beside it already charged the real usage
    case 'BudgetReserved':
      return withBudget(c, reserve(c.budget, ev.data.reservationId, ev.data.amount));
    case 'BudgetSettled':
      return settled(c, ev.data.reservationId, ev.data.consumed, ev.data.costUsd);
    case 'BudgetReleased':
      return withBudget(c, release(c.budget, ev.data.reservationId));
    case 'ModelRequested': {
      const d = ev.data;
      const asked = { ...c, turn: d.turn + 1, pendingCall: { callId: d.callId, turn: d.turn, requestRef: d.requestRef, reserved: d.reserved } };
      // v2 holds its reservation itself; a v1 request was preceded by a BudgetReserved.
      return d.reserves ? withBudget(asked, reserve(c.budget, d.callId, d.reserved)) : asked;
    }
    case 'ModelReplied': {
      const text = ev.data.content.filter((b) => b.type === 'text').map((b) => (b as { text: string }).text).join('\n').trim();
      // v2 settles its reservation itself; a v1 reply was followed by a BudgetSettled.
      const after = ev.data.settles ? settled(c, ev.data.callId, totalTokens(ev.data.usage), ev.data.costUsd) : c;
      return {
        ...after,
        pendingCall: null,
        transcript: [...c.transcript, { kind: 'assistant', content: ev.data.content }],
        lastText: text.length > 0 ? text : c.lastText,
      };
    }
    case 'ModelFailed':
      return { ...c, pendingCall: null };
    case 'ToolCalled':
      return { ...c, pendingTools: { ...c.pendingTools, [ev.data.toolUseId]: { name: ev.data.name, input: ev.data.input } } };
    case 'ApprovalRequested': {
      const { callId, tool, input, requestedAt, expiresAt } = ev.data;
      return { ...c, pendingApprovals: { ...c.pendingApprovals, [callId]: { tool, input, requestedAt, expiresAt, granted: false } } };
    }
    case 'ApprovalGranted': {
      const asked = c.pendingApprovals[ev.data.callId];
      return asked ? { ...c, pendingApprovals: { ...c.pendingApprovals, [ev.data.callId]: { ...asked, granted: true } } } : c;
    }
    case 'ApprovalDenied':
      return c; // its ToolReturned, in the same append, closes the call
    case 'ToolReturned': {
      const { [ev.data.toolUseId]: _done, ...rest } = c.pendingTools;
      if (ev.data.toolUseId in c.pendingApprovals) {
        const { [ev.data.toolUseId]: _answered, ...approvals } = c.pendingApprovals;
        c = { ...c, pendingApprovals: approvals };
      }
      const turnResults = [...c.turnResults, { toolUseId: ev.data.toolUseId, output: ev.data.output, isError: ev.data.isError }];
      const outputRejections = c.outputRejections + (c.outputSchema && ev.data.name === 'finish' && ev.data.isError ? 1 : 0);
      if (Object.keys(rest).length > 0) return { ...c, pendingTools: rest, turnResults, outputRejections };
      return { ...c, pendingTools: rest, turnResults: [], outputRejections, transcript: [...c.transcript, { kind: 'tool_results', results: turnResults }] };
    }
    case 'AgentCompleted':
      return { ...c, result: { status: 'completed', output: ev.data.output, reason: null, cause: null } };
    case 'AgentFailed':
      return { ...c, result: { status: 'failed', output: ev.data.partialOutput, reason: ev.data.reason, cause: ev.data.cause } };
    case 'AgentTerminated':
      return { ...c, result: { status: 'terminated', output: c.lastText, reason: ev.data.reason, cause: 'fired' } };
    case 'AgentTimedOut':
      return { ...c, timedOut: true };
    case 'AgentTerminating':
      return c.terminating ? c : { ...c, terminating: { reason: ev.data.reason, by: ev.data.by } };
    case 'MessageSent':
      return { ...c, messages: { ...c.messages, sent: c.messages.sent + 1 } };
    case 'MessageReceived':
      return { ...c, messages: { ...c.messages, received: c.messages.received + 1 } };
    case 'MessageAcked':
      return { ...c, messages: { ...c.messages, acked: c.messages.acked + 1 } };
    case 'WorkspaceCreated':
      return { ...c, workspace: { path: ev.data.path, branch: ev.data.branch, baseBranch: ev.data.baseBranch, baseCommit: ev.data.baseCommit }, workspaceRemoved: false };
    case 'WorkspaceCommitted':
      return { ...c, lastCommit: ev.data.commit };
    case 'WorkspaceMerged':
      return { ...c, merges: [...c.merges, { childId: ev.data.childId, status: 'merged', files: ev.data.files }] };
    case 'WorkspaceMergeConflicted':
      return { ...c, merges: [...c.merges, { childId: ev.data.childId, status: 'conflict', files: ev.data.files }] };
    case 'WorkspaceRemoved':
      return { ...c, workspaceRemoved: true };
    case 'WorkflowPlanned':
      return { ...c, plan: { source: ev.data.source, templateId: ev.data.templateId, graph: ev.data.graph } };
    case 'WorkflowPlanRejected':
      return c; // a record: the answers a model gave before its plan was accepted, or the workflow failed
    case 'NodeStarted':
      return nodeStarted(c, ev.data.nodeId, ev.data.childId, ev.data.attempt);
    case 'NodeCompleted':
      return nodeCompleted(c, ev.data.nodeId, ev.data.output);
    case 'NodeFailed': {
      const prev = c.nodes[ev.data.nodeId];
      const status = ev.data.willRetry ? 'pending' : 'failed';
      return { ...c, nodes: { ...c.nodes, [ev.data.nodeId]: { status, childId: prev?.childId ?? ev.data.childId, attempt: ev.data.attempt, output: null } } };
    }
    case 'NodeSkipped':
      return { ...c, nodes: { ...c.nodes, [ev.data.nodeId]: { status: 'skipped', childId: null, attempt: 0, output: null } } };
    default:
      return assertNever(ev);
  }
}

/** Reservation `id` closed with what the call consumed and cost: a BudgetSettled, or a ModelReplied v2 that settles it. */
const settled = (c: AgentContext, id: string, consumed: number, costUsd: number): AgentContext => ({ ...withBudget(c, settle(c.budget, id, consumed)), costUsd: addUsd(c.costUsd, costUsd) });

/** Node `nodeId`'s attempt `attempt` given to `childId`: a NodeStarted, or a ChildSpawned v4 that starts it. */
const nodeStarted = (c: AgentContext, nodeId: string, childId: string, attempt: number): AgentContext => ({ ...c, nodes: { ...c.nodes, [nodeId]: { status: 'running', childId, attempt, output: null } } });

/** Node `nodeId` completed with `output`: a NodeCompleted, or a ChildFinished v3 that completes it. */
const nodeCompleted = (c: AgentContext, nodeId: string, output: string): AgentContext => ({ ...c, nodes: { ...c.nodes, [nodeId]: { ...c.nodes[nodeId]!, status: 'completed', output } } });

type AnyEvent = { [T in keyof Events]: { type: T; data: Events[T] } }[keyof Events];
type Events = { [T in EventType]: EventData<T> };

function assertNever(x: never): never {
  throw new Error(`unhandled event ${JSON.stringify(x)}`);
}
