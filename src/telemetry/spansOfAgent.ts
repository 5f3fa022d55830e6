import type { HistoryEvent } from '../events/historyEvent.js';
import { totalTokens } from '../actors/ports/modelProvider.js';
import type { TraceSpan } from './traceSpan.js';
import { spanIdOf, traceIdOf } from './traceIds.js';

type Mutable<T> = { -readonly [K in keyof T]: T[K] };
type Attributes = Record<string, string | number | boolean | readonly string[]>;

/**
 * One agent's spans from its history (revision order): its own, from AgentSpawned to its
 * terminal event, and one per model call (ModelRequested → ModelReplied / ModelFailed) and per
 * tool call (ToolCalled → ToolReturned) under it, and one per workflow planning call
 * (BudgetReserved → BudgetSettled, or its BudgetSettled alone as recorded before). Attributes follow the OpenTelemetry GenAI
 * semantic conventions (`gen_ai.*`) plus cadre's own (`cadre.*`). Pure: the same events give the
 * same spans, ids included. Something still open when the events stop is `running`, with no end;
 * when the agent ended, anything it left open ends with it, as the agent's end aborted it.
 * The trace is the run's (its root's id) and the parent the agent's own, whoever reads: a
 * subtree's spans are the whole run's spans under that agent, so what the live export sent and
 * what `cadre trace --export` sends later are the same spans.
 */
export function spansOfAgent(events: readonly HistoryEvent[]): TraceSpan[] {
  const spawned = events[0];
  if (!spawned || spawned.type !== 'AgentSpawned') return [];
  const traceId = traceIdOf(spawned.data.rootId);
  const agentId = spawned.data.agentId;
  const agentSpanId = spanIdOf(agentId, 'agent');
  const parentSpanId = spawned.data.parentId === null ? undefined : spanIdOf(spawned.data.parentId, 'agent');
  const at = (e: HistoryEvent): number => Date.parse(e.metadata.at);
  const agent: Mutable<TraceSpan> & { attributes: Attributes } = {
    spanId: agentSpanId,
    ...(parentSpanId ? { parentSpanId } : {}),
    traceId,
    kind: 'agent',
    name: `invoke_agent ${spawned.data.role}`,
    agentId,
    startMs: at(spawned),
    status: 'running',
    attributes: {
      'gen_ai.operation.name': 'invoke_agent',
      'gen_ai.agent.id': agentId,
      'gen_ai.agent.name': spawned.data.role,
      'cadre.agent.id': agentId,
      'cadre.role': spawned.data.role,
      'cadre.kind': spawned.data.kind,
      'cadre.budget.allocated': spawned.data.budget,
      'cadre.cost_usd': 0,
      'gen_ai.usage.input_tokens': 0,
      'gen_ai.usage.output_tokens': 0,
      // What the budget counts as consumed (cache tokens and planning calls included).
      'cadre.usage.total_tokens': 0,
      ...(spawned.data.nodeId ? { 'cadre.node.id': spawned.data.nodeId } : {}),
    },
  };
  const spans: Array<Mutable<TraceSpan> & { attributes: Attributes }> = [agent];
  const forkedFrom = spawned.data.forkedFrom;
  const open = new Map<string, (typeof spans)[number]>();
  const child = (id: string, kind: 'model' | 'tool', name: string, e: HistoryEvent, attributes: Attributes): void => {
    const span = { spanId: spanIdOf(agentId, `${kind}:${id}`), parentSpanId: agentSpanId, traceId, kind, name, agentId, startMs: at(e), status: 'running' as const, attributes };
    open.set(`${kind}:${id}`, span);
    spans.push(span);
  };
  const close = (key: string, e: HistoryEvent, status: TraceSpan['status'], attributes: Attributes = {}): void => {
    const span = open.get(key);
    if (!span) return;
    open.delete(key);
    Object.assign(span, { endMs: at(e), status });
    Object.assign(span.attributes, attributes);
  };
  const add = (key: string, by: number): void => void (agent.attributes[key] = (agent.attributes[key] as number) + by);
  /** Model calls closed by a reply: a v1 reply's BudgetSettled restates what the reply said. */
  const replied = new Set<string>();
  /** The model spans by call id, open or closed: a settlement after a ModelFailed charges that call. */
  const calls = new Map<string, (typeof spans)[number]>();

  /** When each reservation was recorded: a planning call's span starts at its BudgetReserved. */
  const reservedAt = new Map<string, number>();
  let previous: HistoryEvent = spawned;
  for (const e of events) {
    switch (e.type) {
      case 'ModelRequested':
        child(e.data.callId, 'model', `chat ${e.data.model}`, e, { 'gen_ai.operation.name': 'chat', 'gen_ai.provider.name': e.data.provider, 'gen_ai.request.model': e.data.model, 'cadre.turn': e.data.turn });
        calls.set(e.data.callId, spans[spans.length - 1]!);
        break;
      case 'ModelReplied': {
        replied.add(e.data.callId);
        const u = e.data.usage;
        // A fork's copy of its source's call (forkHistory.ts carries it with `settles` off; every
        // reply recorded live settles): the source's, shown, never charged to the fork. Counted in
        // the fork's line it made `trace` disagree with `budget` (a new user's try).
        const carried = forkedFrom !== undefined && !e.data.settles;
        close(`model:${e.data.callId}`, e, 'ok', {
          'gen_ai.response.model': e.data.model,
          'gen_ai.usage.input_tokens': u.inputTokens,
          'gen_ai.usage.output_tokens': u.outputTokens,
          'gen_ai.response.finish_reasons': [e.data.stopReason],
          'cadre.usage.total_tokens': totalTokens(u),
          'cadre.cost_usd': e.data.costUsd,
          ...(carried ? { 'cadre.carried_from': forkedFrom.sourceId } : {}),
          ...(e.data.resent ? { 'cadre.resent': true } : {}),
        });
        if (carried) break;
        add('cadre.usage.total_tokens', totalTokens(u));
        add('gen_ai.usage.input_tokens', u.inputTokens);
        add('gen_ai.usage.output_tokens', u.outputTokens);
        add('cadre.cost_usd', e.data.costUsd);
        break;
      }
      case 'BudgetReserved':
        reservedAt.set(e.data.reservationId, at(e));
        break;
      case 'BudgetSettled': {
        const id = e.data.reservationId;
        if (replied.has(id)) break;
        const charged = { 'cadre.usage.total_tokens': e.data.consumed, 'cadre.cost_usd': e.data.costUsd };
        add('cadre.cost_usd', e.data.costUsd);
        add('cadre.usage.total_tokens', e.data.consumed);
        const failed = calls.get(id);
        // A call the provider answered unusably, charged its whole reservation after its ModelFailed.
        if (failed) Object.assign(failed.attributes, charged);
        // A workflow's planning call (decompose.ts): from its reservation to its settlement. One
        // recorded before reservations were (its settlement alone) began after the event before it.
        else spans.push({
          spanId: spanIdOf(agentId, `model:${id}`), parentSpanId: agentSpanId, traceId, kind: 'model', name: `chat ${e.data.model}`, agentId,
          startMs: reservedAt.get(id) ?? at(previous), endMs: at(e), status: 'ok',
          attributes: { 'gen_ai.operation.name': 'chat', 'gen_ai.request.model': e.data.model, 'gen_ai.response.model': e.data.model, 'cadre.purpose': 'plan', ...charged },
        });
        break;
      }
      case 'ModelFailed':
        close(`model:${e.data.callId}`, e, 'error', { 'error.type': e.data.retryable ? 'retryable' : 'model_error', 'cadre.error': e.data.error, ...(e.data.resent ? { 'cadre.resent': true } : {}) });
        break;
      case 'ToolCalled':
        child(e.data.toolUseId, 'tool', `execute_tool ${e.data.name}`, e, { 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': e.data.name, 'gen_ai.tool.call.id': e.data.toolUseId });
        break;
      case 'ApprovalRequested': {
        const span = open.get(`tool:${e.data.callId}`);
        if (span) span.attributes['cadre.approval'] = 'waiting';
        break;
      }
      case 'ApprovalGranted':
      case 'ApprovalDenied': {
        const span = open.get(`tool:${e.data.callId}`);
        if (span) span.attributes['cadre.approval'] = e.type === 'ApprovalGranted' ? 'granted' : 'denied';
        break;
      }
      case 'ToolReturned':
        close(`tool:${e.data.toolUseId}`, e, e.data.isError ? 'error' : 'ok');
        break;
      case 'AgentCompleted':
      case 'AgentFailed':
      case 'AgentTerminated': {
        const status: TraceSpan['status'] = e.type === 'AgentCompleted' ? 'ok' : e.type === 'AgentFailed' ? 'error' : 'cancelled';
        for (const key of [...open.keys()]) close(key, e, 'cancelled');
        Object.assign(agent, { endMs: at(e), status });
        agent.attributes['cadre.outcome'] = e.type === 'AgentCompleted' ? 'completed' : e.type === 'AgentFailed' ? 'failed' : 'terminated';
        if (e.type !== 'AgentCompleted' && e.data.reason) agent.attributes['cadre.reason'] = e.data.reason.slice(0, 500);
        break;
      }
      default:
        break;
    }
    previous = e;
  }
  return spans;
}
