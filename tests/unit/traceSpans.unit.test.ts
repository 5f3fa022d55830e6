import { describe, expect, it } from 'vitest';
import type { HistoryEvent } from '../../src/events/historyEvent.js';
import { spansOfAgent } from '../../src/telemetry/spansOfAgent.js';
import { spanIdOf, traceIdOf } from '../../src/telemetry/traceIds.js';
import { spansEndedBetween } from '../../src/telemetry/otlp/spansEndedBetween.js';
import { renderWaterfall } from '../../src/cli/render/traceWaterfall.js';
import { createStyle } from '../../src/cli/render/style.js';

const T0 = Date.parse('2026-12-05T10:00:00.000Z');
const usage = { inputTokens: 100, outputTokens: 20, cacheReadTokens: 0, cacheCreationTokens: 0 };

/** An agent's history: each event `ms` after T0, at its revision. */
function history(agentId: string, parentId: string | null, steps: ReadonlyArray<readonly [number, string, Record<string, unknown>]>): HistoryEvent[] {
  const spawned = { agentId, parentId, rootId: 'root', depth: parentId ? 1 : 0, kind: 'agent', role: agentId === 'root' ? 'lead' : 'helper', task: 't', budget: 10_000, workspace: null, timeoutMs: null, maxTurns: 5, model: null };
  return [[0, 'AgentSpawned', spawned] as const, ...steps].map(([ms, type, data], revision) => ({
    id: `${agentId}-${revision}`, streamId: `agent-${agentId}`, type, data, revision, position: revision * 10 + (agentId === 'root' ? 0 : 1),
    metadata: { at: new Date(T0 + ms).toISOString() },
  }) as unknown as HistoryEvent);
}

describe('spans from recorded events', () => {
  const root = history('root', null, [
    [10, 'ModelRequested', { callId: 'c1', turn: 1, provider: 'anthropic', model: 'claude-x', requestRef: 'r' }],
    [250, 'ModelReplied', { callId: 'c1', model: 'claude-x', content: [], stopReason: 'tool_use', usage, costUsd: 0.5 }],
    [260, 'ToolCalled', { toolUseId: 'toolu_1', name: 'pay', input: {} }],
    [270, 'ApprovalRequested', { callId: 'toolu_1', tool: 'pay', input: {}, requestedAt: '', expiresAt: null }],
    [900, 'ApprovalGranted', { callId: 'toolu_1', by: 'alice' }],
    [950, 'ToolReturned', { toolUseId: 'toolu_1', name: 'pay', output: 'paid', isError: false }],
    [960, 'ModelRequested', { callId: 'c2', turn: 2, provider: 'anthropic', model: 'claude-x', requestRef: 'r' }],
    [1000, 'ModelFailed', { callId: 'c2', error: 'overloaded', retryable: true }],
    [1010, 'ModelRequested', { callId: 'c3', turn: 3, provider: 'anthropic', model: 'claude-x', requestRef: 'r' }],
    [1200, 'AgentFailed', { reason: 'budget exceeded', partialOutput: null, returned: 0, cause: 'budget_exceeded' }],
  ]);

  it('nests model and tool calls under their agent, with durations, outcomes and GenAI attributes', () => {
    const spans = spansOfAgent(root);
    expect(spans.map((s) => [s.kind, s.name, s.status, s.endMs === undefined ? null : s.endMs - s.startMs])).toEqual([
      ['agent', 'invoke_agent lead', 'error', 1200],
      ['model', 'chat claude-x', 'ok', 240],
      ['tool', 'execute_tool pay', 'ok', 690],
      ['model', 'chat claude-x', 'error', 40],
      // Open when the agent ended: ended with it.
      ['model', 'chat claude-x', 'cancelled', 190],
    ]);
    const [agent, model, tool] = spans;
    expect(agent!.parentSpanId).toBeUndefined();
    expect(spans.slice(1).every((s) => s.parentSpanId === agent!.spanId && s.traceId === traceIdOf('root'))).toBe(true);
    expect(agent!.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(agent!.spanId).toMatch(/^[0-9a-f]{16}$/);
    expect(new Set(spans.map((s) => s.spanId)).size).toBe(spans.length);
    expect(model!.attributes).toMatchObject({ 'gen_ai.operation.name': 'chat', 'gen_ai.request.model': 'claude-x', 'gen_ai.usage.input_tokens': 100, 'gen_ai.usage.output_tokens': 20, 'cadre.cost_usd': 0.5 });
    expect(tool!.attributes).toMatchObject({ 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': 'pay', 'gen_ai.tool.call.id': 'toolu_1', 'cadre.approval': 'granted' });
    expect(agent!.attributes).toMatchObject({ 'gen_ai.operation.name': 'invoke_agent', 'cadre.role': 'lead', 'cadre.budget.allocated': 10_000, 'cadre.outcome': 'failed', 'cadre.reason': 'budget exceeded', 'gen_ai.usage.input_tokens': 100, 'cadre.cost_usd': 0.5 });
  });

  it('a child hangs under its parent; the same events give the same ids; a cut history leaves spans running', () => {
    const child = history('kid', 'root', [[300, 'ModelRequested', { callId: 'k1', turn: 1, provider: 'offline', model: 'm', requestRef: 'r' }]]);
    const spans = spansOfAgent(child);
    expect(spans[0]).toMatchObject({ parentSpanId: spanIdOf('root', 'agent'), status: 'running' });
    expect(spans[0]!.endMs).toBeUndefined();
    expect(spans[1]).toMatchObject({ status: 'running', kind: 'model' });
    expect(spansOfAgent(child)).toEqual(spans);
    // As of revision 3 (the tool call open, waiting for approval), the root is running too.
    const early = spansOfAgent(root.slice(0, 5));
    expect(early.map((s) => s.status)).toEqual(['running', 'ok', 'running']);
    expect(early[2]!.attributes['cadre.approval']).toBe('waiting');
    expect(spansOfAgent([])).toEqual([]);
  });

  it('every token the budget charged is in the trace: planning calls, an unusable answered reply, cache tokens; a v1 settlement is not counted twice', () => {
    const cached = { ...usage, cacheReadTokens: 30 };
    const workflow = history('root', null, [
      // Two planning attempts (decompose.ts): the first plan refused, the second accepted. The
      // first as recorded before planning calls reserved (its settlement alone), the second now.
      [400, 'BudgetSettled', { reservationId: 'decompose-1', consumed: 700, model: 'claude-x', costUsd: 0.07 }],
      [410, 'WorkflowPlanRejected', { attempt: 1, answer: 'x', problems: 'no nodes' }],
      [420, 'BudgetReserved', { reservationId: 'decompose-2', amount: 3_000 }],
      [900, 'BudgetSettled', { reservationId: 'decompose-2', consumed: 800, model: 'claude-x', costUsd: 0.08 }],
      [910, 'WorkflowPlanned', { source: 'decomposition', templateId: null, graph: { nodes: [] } }],
      // A v1 call: its reply and its BudgetSettled say the same usage once.
      [1000, 'ModelRequested', { callId: 'c1', turn: 1, provider: 'anthropic', model: 'claude-x', requestRef: 'r' }],
      [1100, 'ModelReplied', { callId: 'c1', model: 'claude-x', content: [], stopReason: 'end_turn', usage: cached, costUsd: 0.5 }],
      [1101, 'BudgetSettled', { reservationId: 'c1', consumed: 150, model: 'claude-x', costUsd: 0.5 }],
      // An answered reply cadre could not use: failed, then charged its whole reservation.
      [1200, 'ModelRequested', { callId: 'c2', turn: 2, provider: 'anthropic', model: 'claude-x', requestRef: 'r' }],
      [1300, 'ModelFailed', { callId: 'c2', error: 'malformed usage', retryable: false }],
      [1301, 'BudgetSettled', { reservationId: 'c2', consumed: 4_000, model: 'claude-x', costUsd: 0.4 }],
      [1302, 'AgentFailed', { reason: 'model error', partialOutput: null, returned: 0, cause: 'model_error' }],
    ]);
    const spans = spansOfAgent(workflow);
    expect(spans.map((s) => [s.kind, s.status, s.startMs - T0, s.endMs! - T0, s.attributes['cadre.usage.total_tokens'], s.attributes['cadre.cost_usd']])).toEqual([
      ['agent', 'error', 0, 1302, 700 + 800 + 150 + 4_000, 0.07 + 0.08 + 0.5 + 0.4],
      ['model', 'ok', 0, 400, 700, 0.07],
      ['model', 'ok', 420, 900, 800, 0.08],
      ['model', 'ok', 1000, 1100, 150, 0.5],
      ['model', 'error', 1200, 1300, 4_000, 0.4],
    ]);
    expect(spans[1]!.attributes).toMatchObject({ 'cadre.purpose': 'plan', 'gen_ai.request.model': 'claude-x' });
    expect(new Set(spans.map((s) => s.spanId)).size).toBe(spans.length);
    // The CLI's waterfall shows what was charged.
    const text = renderWaterfall(spans, { columns: 120, now: T0 + 2_000, style: createStyle(false) });
    expect(text).toContain('chat claude-x');
    expect(text.split('\n')[1]).toMatch(/5\.7k\s+\$1\.0500$/);
  });

  it('draws the waterfall as text: nested lines, bars placed in time and marked by outcome (▓ failed), within the width', () => {
    const spans = [...spansOfAgent(root), ...spansOfAgent(history('kid', 'root', []))];
    const text = renderWaterfall(spans, { columns: 100, now: T0 + 1200, style: createStyle(false) });
    const lines = text.split('\n');
    expect(lines.every((l) => [...l].length <= 100)).toBe(true);
    expect(lines[1]).toMatch(/^lead root\s+▓+\s+1\.2s\s+120\s+\$0\.5000$/);
    expect(lines[2]).toMatch(/^ {2}chat claude-x/);
    // The tool call starts about a fifth of the way in (260 of 1200 ms) and takes over half (690 ms)
    // of the 24-character bar that fits 100 columns.
    const bar = lines[3]!.slice(45, 45 + 24);
    expect(bar.indexOf('█')).toBe(5);
    expect(bar.split('█').length - 1).toBe(14);
    expect(lines.at(-1)).toMatch(/^ {2}helper kid\s+░/);
  });

  it("a fork's calls carried from its source are shown as such and left out of its totals, as its budget leaves them out", () => {
    const reply = (callId: string, settles: boolean) => ({ callId, model: 'claude-x', content: [], stopReason: 'end_turn', usage, costUsd: 0.5, settles });
    const fork = history('fk', null, [
      [0, 'ModelRequested', { callId: 'src1', turn: 0, provider: 'anthropic', model: 'claude-x', requestRef: 'r', reserved: 0, reserves: false }],
      [0, 'ModelReplied', reply('src1', false)],
      [100, 'ModelRequested', { callId: 'own1', turn: 1, provider: 'anthropic', model: 'claude-x', requestRef: 'r', reserved: 500, reserves: true }],
      [300, 'ModelReplied', reply('own1', true)],
    ]);
    fork[0] = { ...fork[0]!, data: { ...(fork[0]!.data as object), forkedFrom: { sourceId: 'source-agent', sourceRevision: 3, sourcePosition: '9', spentBefore: 120 } } } as typeof fork[0];
    const spans = spansOfAgent(fork);
    expect(spans[0]!.attributes).toMatchObject({ 'cadre.usage.total_tokens': 120, 'cadre.cost_usd': 0.5 });
    expect(spans.filter((x) => x.kind === 'model').map((x) => x.attributes['cadre.carried_from'])).toEqual(['source-agent', undefined]);
    const lines = renderWaterfall(spans, { columns: 140, now: T0 + 1_000, style: createStyle(false) }).split('\n');
    expect(lines[1]).toMatch(/^helper fk\s+.*\s120\s+\$0\.5000$/);
    expect(lines[2]).toMatch(/^ {2}chat claude-x \(carried from source-a\)/);
  });

  it('a call sent again after a takeover (resent) is marked in its span and leads its line in the waterfall', () => {
    const agent = history('rs', null, [
      [0, 'ModelRequested', { callId: 'c1', turn: 0, provider: 'anthropic', model: 'claude-x', requestRef: 'r', reserved: 500, reserves: true }],
      [900, 'ModelReplied', { callId: 'c1', model: 'claude-x', content: [], stopReason: 'end_turn', usage, costUsd: 0.5, settles: true, resent: true }],
      [1_000, 'ModelRequested', { callId: 'c2', turn: 1, provider: 'anthropic', model: 'claude-x', requestRef: 'r', reserved: 500, reserves: true }],
      [1_100, 'ModelReplied', { callId: 'c2', model: 'claude-x', content: [], stopReason: 'end_turn', usage, costUsd: 0.5, settles: true }],
    ]);
    const spans = spansOfAgent(agent);
    expect(spans.filter((x) => x.kind === 'model').map((x) => x.attributes['cadre.resent'])).toEqual([true, undefined]);
    const lines = renderWaterfall(spans, { columns: 140, now: T0 + 2_000, style: createStyle(false) }).split('\n');
    expect(lines[2]).toMatch(/^ {2}resent chat claude-x /);
    expect(lines[3]).toMatch(/^ {2}chat claude-x /);
  });

  it("counts an agent's subordinates in its line: a workflow that made no call of its own does not read 0", () => {
    const kid = history('kid', 'root', [
      [300, 'ModelRequested', { callId: 'k1', turn: 1, provider: 'anthropic', model: 'claude-x', requestRef: 'r' }],
      [400, 'ModelReplied', { callId: 'k1', model: 'claude-x', content: [], stopReason: 'end_turn', usage, costUsd: 0.25 }],
      [500, 'AgentCompleted', { output: 'ok', returned: 0 }],
    ]);
    const grandkid = history('gk', 'kid', [
      [310, 'ModelRequested', { callId: 'g1', turn: 1, provider: 'anthropic', model: 'claude-x', requestRef: 'r' }],
      [320, 'ModelReplied', { callId: 'g1', model: 'claude-x', content: [], stopReason: 'end_turn', usage, costUsd: 0.125 }],
    ]).map((e) => ({ ...e, streamId: 'agent-gk' }));
    const lead = history('root', null, [[600, 'AgentCompleted', { output: 'done', returned: 0 }]]);
    const spans = [...spansOfAgent(lead), ...spansOfAgent(kid), ...spansOfAgent(grandkid)];
    const lines = renderWaterfall(spans, { columns: 120, now: T0 + 1_000, style: createStyle(false) }).split('\n');
    // Its own: nothing; its subtree: two calls of 120 tokens.
    expect(lines[1]).toMatch(/^lead root\s+█+\s+600ms\s+240\s+\$0\.3750$/);
    expect(lines.find((l) => l.startsWith('  helper kid'))).toMatch(/240\s+\$0\.3750$/);
    // A call's line is its own.
    expect(lines.filter((l) => /chat claude-x/.test(l)).map((l) => l.trim().split(/\s+/).slice(-2).join(' '))).toEqual(['120 $0.2500', '120 $0.1250']);
  });

  it('gives each span to the live export once, in the batch whose events end it, whatever the cuts', () => {
    // Positions are revision × 10: the model call ends at 20, the tool call at 60, the rest with the agent at 100.
    const last = root[root.length - 1]!.position;
    const all = spansOfAgent(root).map((s) => s.spanId);
    expect(spansEndedBetween(root, -1, 10)).toEqual([]);
    expect(spansEndedBetween(root, 10, 20).map((s) => s.name)).toEqual(['chat claude-x']);
    expect(spansEndedBetween(root, 20, 50)).toEqual([]);
    // The span sent is the one the whole history gives, not a partial one.
    expect(spansEndedBetween(root, 50, 60)).toEqual([spansOfAgent(root)[2]]);
    for (const cuts of [[-1, last], [-1, 20, 60, 70, last], [-1, 5, 15, 25, 35, 45, 55, 65, 75, 85, 95, last]]) {
      const sent = cuts.slice(1).flatMap((to, i) => spansEndedBetween(root, cuts[i]!, to).map((s) => s.spanId));
      expect([...sent].sort()).toEqual([...all].sort());
    }
    // A child still running: nothing of it is sent.
    expect(spansEndedBetween(history('kid', 'root', [[300, 'ModelRequested', { callId: 'k1', turn: 1, provider: 'offline', model: 'm', requestRef: 'r' }]]), -1, 1000)).toEqual([]);
  });
});
