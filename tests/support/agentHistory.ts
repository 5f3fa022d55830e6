import type { ParsedEvent } from '../../src/events/upcast.js';
import { rng } from '../faults/faultPlan.js';

/**
 * Random agent histories for the read models' batch folds (agentBatchFold.ts, the budget
 * ledger, workflowBatchFold.ts): events of every kind a row folds, with the data the reducers
 * read, over a few agents (two of them workflows) whose reservation, child and node ids repeat,
 * so entries open and close, and nodes start, fail and retry, many times within a batch.
 */

export const AGENTS = ['ra', 'cb', 'cc'];
const IDS = ['r1', 'r2', 'r3'];
const CHILDREN = ['k1', 'k2', 'k3'];
const COSTS = [0.1, 0.2, 0.003, 0.25, 1e-7, 0];
const NODES = ['n1', 'n2', 'n3'];

/** `all` kinds; `dense`: the agents row's stateful folds on one agent; `workflow`: run and node events. */
export type HistoryMode = 'all' | 'dense' | 'workflow' | 'approvals';

/** Random events of the kinds the agents row folds, with the data `handle` reads. */
export function history(seed: number, length: number, mode: HistoryMode = 'all'): ParsedEvent[] {
  const r = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const amount = (): number => Math.floor(r() * 50);
  const revs = new Map<string, bigint>();
  let position = 0n;
  let clock = Date.parse('2026-01-01T00:00:00.000Z');
  const out: ParsedEvent[] = [];
  const push = (agent: string, type: string, data: Record<string, unknown>): void => {
    const revision = revs.get(agent) ?? 0n;
    revs.set(agent, revision + 1n);
    out.push({
      id: `00000000-0000-4000-8000-${(++position).toString().padStart(12, '0')}`, type, data, streamId: `agent-${agent}`, revision, position,
      metadata: { correlationId: 'c', causationId: 'c', schemaVersion: 1, at: new Date((clock += 1000)).toISOString() },
    } as unknown as ParsedEvent);
  };
  for (const [i, a] of AGENTS.entries()) {
    // Some start in their opening (AgentSpawned's `started`), the others with an AgentStarted below.
    const started = r() < 0.5 ? { started: { deadline: r() < 0.5 ? null : new Date(clock + 60_000).toISOString() } } : {};
    push(a, 'AgentSpawned', { agentId: a, parentId: i === 0 ? null : 'ra', rootId: 'ra', depth: i === 0 ? 0 : 1, kind: i < 2 ? 'workflow' : 'agent', role: 'r', task: 't', budget: 1000, workspace: null, timeoutMs: null, maxTurns: 3, model: null, nodeId: null, ...started });
  }
  const kinds: Array<(a: string) => void> = [
    (a) => push(a, 'AgentRunRequested', {}),
    (a) => push(a, 'AgentStarted', { deadline: r() < 0.5 ? null : new Date(clock + 60_000).toISOString() }),
    (a) => push(a, 'ChildSpawned', { childId: pick(CHILDREN), role: 'r', task: 't', budget: 10, kind: 'agent', spec: null, delegatesBudget: false, nodeAttempt: null }),
    (a) => push(a, 'ChildFinished', { childId: pick(CHILDREN), status: 'completed', output: 'o', reclaim: null, completesNode: null }),
    (a) => push(a, 'WorkspaceCreated', { path: `/w/${amount()}`, branch: `b${amount()}`, baseBranch: 'main' }),
    (a) => push(a, 'WorkspaceRemoved', {}),
    (a) => push(a, 'AgentCompleted', { output: `done ${amount()}`, returned: amount() }),
    (a) => push(a, 'AgentFailed', { cause: 'error', reason: `why ${amount()}`, partialOutput: r() < 0.5 ? null : 'part', returned: amount() }),
    (a) => push(a, 'AgentTerminated', { reason: 'stop', by: r() < 0.5 ? null : 'ra', returned: amount() }),
    (a) => push(a, 'BudgetReserved', { reservationId: pick(IDS), amount: amount() }),
    (a) => push(a, 'BudgetSettled', { reservationId: pick(IDS), consumed: amount(), model: 'm', costUsd: pick(COSTS) }),
    (a) => push(a, 'BudgetReleased', { reservationId: pick(IDS), reason: 'x' }),
    (a) => push(a, 'BudgetDelegated', { childId: pick(CHILDREN), amount: amount() }),
    (a) => push(a, 'BudgetReclaimed', { childId: pick(CHILDREN), allocated: 10, returned: amount(), spent: 0, overspent: r() < 0.7 ? 0 : amount() }),
    (a) => push(a, 'ModelRequested', { callId: 'c', turn: 0, provider: 'p', model: 'm', requestRef: 'x', reserved: 0, reserves: false }),
    (a) => push(a, 'ModelReplied', { callId: 'c', settles: false }),
    (a) => push(a, 'ModelFailed', { callId: 'c' }),
    (a) => push(a, 'ToolCalled', { name: 't' }),
    // Today's shapes: a spawn that delegates and maybe starts a node (ChildSpawned v4), an end that
    // reclaims and maybe completes a node (ChildFinished v3).
    (a) => push(a, 'ChildSpawned', { childId: pick(CHILDREN), role: 'r', task: 't', budget: amount(), kind: 'agent', spec: null, delegatesBudget: true, ...(r() < 0.5 ? { nodeId: pick(NODES), nodeAttempt: 1 + Math.floor(r() * 3) } : { nodeAttempt: null }) }),
    (a) => push(a, 'ChildFinished', { childId: pick(CHILDREN), status: 'completed', output: r() < 0.2 ? null : 'o', reclaim: { allocated: 10, returned: amount(), spent: 0, overspent: r() < 0.7 ? 0 : amount() }, completesNode: r() < 0.5 ? pick(NODES) : null }),
    // 20…: a workflow's plan and its nodes' lives (on any agent: a plain agent's touch no run).
    (a) => push(a, 'WorkflowPlanned', { source: pick(['graph', 'template']), templateId: r() < 0.5 ? null : 'tdd', graph: { nodes: NODES.filter(() => r() < 0.7).map((id) => ({ id, role: r() < 0.8 ? pick(['coder', 'tester']) : 7, budgetPercent: r() < 0.8 ? pick([20, 33.333333333333336, 1e-7]) : null, dependencies: r() < 0.5 ? [] : [pick(NODES), 3] })) } }),
    (a) => push(a, 'NodeStarted', { nodeId: pick(NODES), childId: pick(CHILDREN), attempt: 1 + Math.floor(r() * 3), budget: amount() }),
    (a) => push(a, 'NodeCompleted', { nodeId: pick(NODES), childId: pick(CHILDREN), output: `out ${amount()}` }),
    (a) => push(a, 'NodeFailed', { nodeId: pick(NODES), childId: pick(CHILDREN), attempt: 1 + Math.floor(r() * 3), reason: `why ${amount()}`, willRetry: r() < 0.5 }),
    (a) => push(a, 'NodeSkipped', { nodeId: pick(NODES), reason: 'dependency failed' }),
    // 25…: tool calls parked for approval and their answers (the approvals read model; the agents row counts them as calls).
    (a) => push(a, 'ApprovalRequested', { callId: pick(IDS), tool: 'pay', input: { cents: amount() }, requestedAt: new Date(clock).toISOString(), expiresAt: r() < 0.5 ? null : new Date(clock + 60_000).toISOString() }),
    (a) => push(a, 'ApprovalGranted', { callId: pick(IDS), by: r() < 0.5 ? null : 'ops' }),
    (a) => push(a, 'ApprovalDenied', { callId: pick(IDS), reason: 'no', by: null }),
    // 28…: today's model calls, which reserve (ModelRequested v2) and settle (ModelReplied v2) themselves.
    (a) => push(a, 'ModelRequested', { callId: pick(IDS), turn: 0, provider: 'p', model: 'm', requestRef: 'x', reserved: amount(), reserves: true }),
    (a) => push(a, 'ModelReplied', { callId: pick(IDS), model: 'm', content: [], stopReason: 'end_turn', usage: { inputTokens: amount(), outputTokens: amount(), cacheReadTokens: 0, cacheCreationTokens: amount() }, costUsd: pick(COSTS), settles: true }),
  ];
  // Dense: only the folds that carry state across events (counters stopping at 0, jsonb maps),
  // so runs like finish, spawn, spawn, finish within one batch are common.
  const used = mode === 'dense' ? [2, 3, 3, 9, 10, 12, 13, 14, 15, 15, 18, 19, 19, 25, 26, 27, 28, 29, 29].map((k) => kinds[k]!)
    : mode === 'workflow' ? [1, 6, 7, 8, 18, 19, 20, 21, 21, 22, 23, 23, 24].map((k) => kinds[k]!)
    // Approvals: mostly parked calls and their answers, an end now and then (it voids an agent's).
    : mode === 'approvals' ? [25, 25, 25, 25, 25, 25, 26, 26, 27, 27, 6].map((k) => kinds[k]!) : kinds;
  for (let i = 0; i < length; i++) pick(used)(mode === 'dense' ? 'ra' : pick(AGENTS));
  return out;
}

/** The history cut into batches of 1 to `max` events. */
export function batches(seed: number, events: readonly ParsedEvent[], max: number): ParsedEvent[][] {
  const r = rng(seed ^ 0x5eed);
  const out: ParsedEvent[][] = [];
  for (let i = 0; i < events.length;) {
    const n = 1 + Math.floor(r() * max);
    out.push(events.slice(i, i + n));
    i += n;
  }
  return out;
}
