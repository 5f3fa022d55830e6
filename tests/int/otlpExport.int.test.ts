import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAgentSystem, type AgentSystem } from '../../src/system.js';
import { readTrace } from '../../src/telemetry/readTrace.js';
import type { TraceSpan } from '../../src/telemetry/traceSpan.js';
import { openSpanSender } from '../../src/telemetry/otlp/spanExporter.js';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from '../support/otlpReceiver.js';
import { testSystem } from '../support/system.js';
import { heldModel } from '../support/heldModel.js';
import { freshSchema, testPgUrl } from '../support/testDb.js';

/**
 * Spans over OTLP/HTTP, checked by a local receiver that decodes the requests itself (protobuf
 * with its own copy of the message definitions, or JSON): after the fact from a finished run's
 * history, and live from two systems sharing one store, where each span must arrive once.
 */
const graph = { nodes: [{ id: 'plan', role: 'architect', task: 'plan it', budgetPercent: 30 }, { id: 'build', role: 'implementer', task: 'build it', budgetPercent: 50, dependencies: ['plan'] }] };

let receiver: OtlpReceiver;
beforeAll(async () => {
  receiver = await startOtlpReceiver();
});
afterAll(() => receiver.close());

/** What the receiver holds for these spans, by span id. */
const received = (spanIds: readonly string[]): ReceivedSpan[] => receiver.spans.filter((r) => spanIds.includes(r.spanId));

function expectSameSpans(got: readonly ReceivedSpan[], want: readonly TraceSpan[]): void {
  expect(got.map((s) => s.spanId).sort()).toEqual(want.map((s) => s.spanId).sort());
  for (const w of want) {
    const r = got.find((s) => s.spanId === w.spanId)!;
    expect({ traceId: r.traceId, parent: r.parentSpanId, name: r.name, startMs: r.startMs, endMs: r.endMs }).toEqual({ traceId: w.traceId, parent: w.parentSpanId ?? '', name: w.name, startMs: w.startMs, endMs: w.endMs });
    expect(r.attributes).toMatchObject(w.attributes);
    expect(r.kind).toBe(w.kind === 'model' ? 3 : 1);
    expect(r.statusCode).toBe(w.status === 'ok' ? 1 : w.status === 'error' ? 2 : 0);
    expect(r.serviceName).toBe('cadre');
    expect(r.scope).toBe('cadre');
  }
}

/** The tree holds: one root without a parent, every other span under a span of the same trace. */
function expectOneTree(spans: readonly ReceivedSpan[]): void {
  const ids = new Set(spans.map((s) => s.spanId));
  expect(spans.filter((s) => s.parentSpanId === '')).toHaveLength(1);
  expect(spans.filter((s) => s.parentSpanId !== '' && !ids.has(s.parentSpanId))).toEqual([]);
  expect(new Set(spans.map((s) => s.traceId)).size).toBe(1);
}

async function until(check: () => boolean, what: string, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

// Systems are on the suite's Postgres (a fresh schema each): spans are derived from the events
// whatever the store, and an in-memory PGlite per test was about half of this file's time.
describe('OTLP export of spans derived from events', () => {
  it('sends a finished run after the fact, over http/protobuf and http/json, as one tree with the GenAI attributes', { timeout: 60_000 }, async () => {
    const system = await testSystem('postgres', { otlp: false });
    try {
      const wf = await system.spawnWorkflow({ graph, task: 'export me', budget: 40_000 });
      expect((await wf.run()).status).toBe('completed');
      const { spans } = await readTrace(system, wf.id);
      expect(spans.every((s) => s.endMs !== undefined)).toBe(true);
      expect(spans.filter((s) => s.kind === 'model').length).toBeGreaterThanOrEqual(2);
      for (const protocol of ['http/protobuf', 'http/json'] as const) {
        receiver.requests.length = 0;
        const sender = await openSpanSender({ url: receiver.url, protocol, headers: { authorization: 'Bearer t0ken-for-the-test' }, serviceName: 'cadre', timeoutMs: 5_000, intervalMs: 1_000 });
        await sender.send(spans);
        await sender.close();
        const got = received(spans.map((s) => s.spanId));
        expectSameSpans(got, spans);
        expectOneTree(got);
        const model = got.find((s) => s.kind === 3)!;
        expect(model.attributes).toMatchObject({ 'gen_ai.operation.name': 'chat', 'gen_ai.request.model': 'offline-rules-v1', 'gen_ai.provider.name': 'offline' });
        expect(model.attributes['gen_ai.usage.input_tokens']).toBeGreaterThan(0);
        expect(receiver.requests[0]).toEqual({ contentType: protocol === 'http/json' ? 'application/json' : 'application/x-protobuf', authorization: 'Bearer t0ken-for-the-test' });
        receiver.spans.length = 0;
      }
    } finally {
      await system.close();
    }
  });

  it('exports live from two systems on one store: every span once, when it ends, through a receiver outage and a handover', { timeout: 120_000 }, async () => {
    receiver.spans.length = 0;
    const schema = freshSchema('otlp');
    const otlp = { url: receiver.url, intervalMs: 50, timeoutMs: 2_000 };
    const open = (): Promise<AgentSystem> => createAgentSystem({ store: { kind: 'postgres', connectionString: testPgUrl() }, schema, model: { provider: 'offline', latencyMs: 20 }, env: {}, otlp });
    const a = await open();
    const b = await open();
    let bClosed = false;
    try {
      // The receiver refuses at first: the spans that end meanwhile are sent once it is back.
      receiver.failWith = 503;
      const [wa, wb] = await Promise.all([a.spawnWorkflow({ graph, task: 'run on a', budget: 40_000 }), b.spawnWorkflow({ graph, task: 'run on b', budget: 40_000 })]);
      const [ra, rb] = await Promise.all([wa.run(), wb.run()]);
      expect([ra.status, rb.status]).toEqual(['completed', 'completed']);
      expect(receiver.spans).toEqual([]);
      receiver.failWith = null;
      const want = [...(await readTrace(a, wa.id)).spans, ...(await readTrace(a, wb.id)).spans];
      await until(() => received(want.map((s) => s.spanId)).length >= want.length, 'the spans of both runs');
      // One process held the lease; whichever it was, the other then takes over on its own.
      await b.close();
      bClosed = true;
      const wc = await a.spawnWorkflow({ graph, task: 'after the handover', budget: 40_000 });
      expect((await wc.run()).status).toBe('completed');
      const later = (await readTrace(a, wc.id)).spans;
      await until(() => received(later.map((s) => s.spanId)).length >= later.length, 'the spans of the run after the handover');
      // Give a second sender time to show itself, then count.
      await new Promise((r) => setTimeout(r, 300));
      const all = [...want, ...later];
      const got = received(all.map((s) => s.spanId));
      expect(got.length, 'each span once').toBe(all.length);
      expectSameSpans(got, all);
      for (const id of [wa.id, wb.id, wc.id]) expectOneTree(received((all.filter((s) => s.agentId === id || s.traceId === all.find((x) => x.agentId === id)!.traceId)).map((s) => s.spanId)));
    } finally {
      receiver.failWith = null;
      if (!bClosed) await b.close();
      await a.close();
    }
  });

  it('sends everything written before closing, even while another transaction holds back what readers may see (Postgres)', { timeout: 60_000 }, async () => {
    receiver.spans.length = 0;
    const schema = freshSchema('otlpclose');
    const model = heldModel(['solo']);
    const system = await createAgentSystem({ store: { kind: 'postgres', connectionString: testPgUrl() }, schema, model, env: {}, otlp: { url: receiver.url, intervalMs: 60_000 } });
    const agent = await system.spawn({ role: 'solo', task: 'end while another session is in a transaction', budget: 5_000 });
    const run = agent.run();
    await model.called('solo');
    // Another session's transaction, begun before the agent's last commits: until it ends, a read
    // of the store sees nothing committed after it began (what a projection batch in flight does).
    const other = new pg.Client({ connectionString: testPgUrl() });
    await other.connect();
    await other.query('BEGIN');
    await other.query('SELECT txid_current()');
    model.release('solo');
    expect((await run).status).toBe('completed');
    const want = (await readTrace(system, agent.id)).spans;
    const closing = system.close();
    await new Promise((r) => setTimeout(r, 400));
    await other.query('COMMIT');
    await other.end();
    await closing;
    expect(received(want.map((s) => s.spanId)).map((s) => s.name).sort()).toEqual(want.map((s) => s.name).sort());
  });

  it('closes within its flush time when the receiver hangs, and says what a refusing receiver answered (without the header values it echoed)', { timeout: 60_000 }, async () => {
    const system = await testSystem('postgres', { otlp: { url: receiver.url, intervalMs: 20, timeoutMs: 30_000 } });
    receiver.hang = true;
    try {
      const a = await system.spawn({ role: 'solo', task: 'end while the receiver hangs', budget: 5_000 });
      expect((await a.run()).status).toBe('completed');
      await new Promise((r) => setTimeout(r, 100));
      const t = Date.now();
      await system.close();
      expect(Date.now() - t).toBeLessThan(7_000);
    } finally {
      receiver.hang = false;
    }
    receiver.failWith = 400;
    try {
      const sender = await openSpanSender({ url: receiver.url, protocol: 'http/json', headers: { authorization: 'Bearer very-secret-token' }, serviceName: 'cadre', timeoutMs: 5_000, intervalMs: 1_000 });
      const span = { spanId: '00000000000000aa', traceId: '000000000000000000000000000000aa', kind: 'agent' as const, name: 'invoke_agent x', agentId: 'x', startMs: 1, endMs: 2, status: 'ok' as const, attributes: {} };
      const err = await sender.send([span]).then(() => null, (e: Error & { status?: number }) => e);
      await sender.close();
      expect(err?.status).toBe(400);
      expect(err?.message).toMatch(/failed: the receiver answered 400 Bad Request: refused: bad request from \[redacted\]/);
      expect(err?.message).not.toContain('very-secret-token');
    } finally {
      receiver.failWith = null;
    }
  });

  it('refuses gRPC naming the variable, and starts no export for a read-only system', async () => {
    await expect(testSystem('postgres', { env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.origin, OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' } })).rejects.toThrow(/OTEL_EXPORTER_OTLP_PROTOCOL: grpc is not supported/);
    await expect(testSystem('postgres', { otlp: { url: 'not a url' } as never })).rejects.toThrow(/otlp\.url/);
    // A read-only system (the CLI's reads) exports nothing, so it neither checks the variables nor makes the lease's table.
    const schema = freshSchema('otlpro');
    const store = { kind: 'postgres' as const, connectionString: testPgUrl() };
    await (await createAgentSystem({ store, schema, model: { provider: 'offline' }, env: {}, otlp: false })).close();
    const reader = await createAgentSystem({ store, schema, model: { provider: 'offline' }, readOnly: true, env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.origin, OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' } });
    try {
      expect((await reader.internal.sql.query<{ t: string | null }>('SELECT to_regclass($1)::text AS t', [`${schema}.otlp_export`])).rows[0]!.t).toBeNull();
    } finally {
      await reader.close();
    }
  });
});
