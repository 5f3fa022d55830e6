import type { AgentSystem } from '../../src/system.js';
import { flatten } from '../../src/dashboard/agentTree.js';
import { readAgentTree } from '../../src/dashboard/readAgentTree.js';

/** The dashboard's contract with GET /api/trace/:rootId (built on branch issue21-trace). */
export interface TraceSpan {
  spanId: string;
  parentSpanId?: string;
  traceId: string;
  kind: 'agent' | 'model' | 'tool';
  name: string;
  agentId: string;
  startMs: number;
  endMs?: number;
  status: 'ok' | 'error' | 'running' | 'cancelled';
  attributes: Record<string, string | number | boolean>;
}

/**
 * A test's stand-in for the trace route while this branch does not have it: spans per the
 * contract, from a subtree's recorded events up to `upTo` (a global position). Deliberately
 * plain; the real derivation lives in src/telemetry.
 */
export async function traceSpansFromHistory(system: AgentSystem, rootId: string, upTo?: number): Promise<{ rootId: string; position: number; spans: TraceSpan[] }> {
  const spans: TraceSpan[] = [];
  let position = 0;
  for (const agent of flatten(await readAgentTree(system, rootId))) {
    const events = (await system.history(agent.id)).filter((e) => upTo === undefined || e.position <= upTo);
    if (events.length === 0) continue;
    const ms = (at: string): number => Date.parse(at);
    const span: TraceSpan = { spanId: agent.id, traceId: rootId, kind: 'agent', name: agent.nodeId ?? agent.role, agentId: agent.id, startMs: ms(events[0]!.metadata.at), status: 'running', attributes: { 'cadre.role': agent.role } };
    if (agent.id !== rootId && agent.parentId) span.parentSpanId = agent.parentId;
    spans.push(span);
    const open = new Map<string, TraceSpan>();
    for (const e of events) {
      position = Math.max(position, e.position);
      const at = ms(e.metadata.at);
      if (e.type === 'ModelRequested') {
        const s: TraceSpan = { spanId: `${agent.id}:${e.data.callId}`, parentSpanId: agent.id, traceId: rootId, kind: 'model', name: `chat ${e.data.model}`, agentId: agent.id, startMs: at, status: 'running', attributes: { 'gen_ai.request.model': e.data.model } };
        open.set(e.data.callId, s);
        spans.push(s);
      } else if (e.type === 'ModelReplied' || e.type === 'ModelFailed') {
        const s = open.get(e.data.callId);
        if (!s) continue;
        s.endMs = at;
        s.status = e.type === 'ModelReplied' ? 'ok' : 'error';
        if (e.type === 'ModelReplied') Object.assign(s.attributes, { 'gen_ai.usage.input_tokens': e.data.usage.inputTokens, 'gen_ai.usage.output_tokens': e.data.usage.outputTokens, 'cadre.cost_usd': e.data.costUsd, 'gen_ai.request.model': e.data.model });
      } else if (e.type === 'ToolCalled') {
        const s: TraceSpan = { spanId: `${agent.id}:${e.data.toolUseId}`, parentSpanId: agent.id, traceId: rootId, kind: 'tool', name: e.data.name, agentId: agent.id, startMs: at, status: 'running', attributes: {} };
        open.set(e.data.toolUseId, s);
        spans.push(s);
      } else if (e.type === 'ToolReturned') {
        const s = open.get(e.data.toolUseId);
        if (s) Object.assign(s, { endMs: at, status: e.data.isError ? 'error' : 'ok' });
      } else if (e.type === 'AgentCompleted' || e.type === 'AgentFailed' || e.type === 'AgentTerminated' || e.type === 'AgentTimedOut') {
        span.endMs = at;
        span.status = e.type === 'AgentCompleted' ? 'ok' : e.type === 'AgentTerminated' ? 'cancelled' : 'error';
      }
    }
  }
  return { rootId, position, spans };
}
