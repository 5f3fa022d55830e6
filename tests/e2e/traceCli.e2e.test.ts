import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startDashboard } from '../../src/dashboard/server.js';
import { createAgentSystem } from '../../src/system.js';
import type { Trace } from '../../src/telemetry/traceSpan.js';
import { runCadre, type CliRun } from '../support/cadreCli.js';
import { startOtlpReceiver } from '../support/otlpReceiver.js';
import { authorized } from '../support/dashboardAuth.js';

/**
 * A finished workflow seen as a trace: `cadre trace` (the real bin, on the embedded store) draws
 * the waterfall and prints the spans as JSON; the dashboard's /api/trace gives the same spans,
 * and as the run was at an earlier position.
 */
const dir = mkdtempSync(join(tmpdir(), 'cadre-trace-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function cadre(...args: string[]): Promise<CliRun>;
async function cadre(env: Record<string, string>, ...args: string[]): Promise<CliRun>;
async function cadre(first: string | Record<string, string>, ...rest: string[]): Promise<CliRun> {
  const [extra, args] = typeof first === 'string' ? [{}, [first, ...rest]] : [first, rest];
  const env: NodeJS.ProcessEnv = { ...process.env, CADRE_DATA_DIR: dir, NO_COLOR: '1', LOG_LEVEL: 'error', COLUMNS: '120', ...extra };
  delete env.DATABASE_URL;
  delete env.EVENT_STORE;
  delete env.ANTHROPIC_API_KEY;
  return runCadre(args, env);
}

describe('cadre trace and /api/trace', () => {
  it('draw a finished workflow as a waterfall, print its spans, and serve the same spans and a past position', { timeout: 120_000 }, async () => {
    const open = () => createAgentSystem({ env: { CADRE_DATA_DIR: dir } });
    const first = await open();
    const wf = await first.workflows.spawnWorkflow({ templateId: 'tdd-workflow', task: 'Add a slugify helper', budget: 120_000 });
    expect((await wf.run()).status).toBe('completed');
    await first.close();

    const text = await cadre('trace', wf.id.slice(0, 8));
    expect(text.code, text.stderr).toBe(0);
    const lines = text.stdout.split('\n');
    expect(lines[1]).toMatch(/^tdd-workflow [0-9a-f]{8}\s+█+/);
    for (const role of ['architect', 'tester', 'implementer', 'reviewer']) expect(text.stdout).toMatch(new RegExp(`\\n {2}${role} [0-9a-f]{8} `));
    expect(text.stdout).toMatch(/\n {4}chat offline-rules-v1 .*\d+(ms|\.\ds)\s+[\d.]+k?\s+\$0/);

    const json = await cadre('trace', wf.id, '--json');
    expect(json.code, json.stderr).toBe(0);
    const trace = JSON.parse(json.stdout) as Trace;
    const agents = trace.spans.filter((s) => s.kind === 'agent');
    expect(agents).toHaveLength(5);
    const root = agents.find((s) => s.agentId === wf.id)!;
    expect(root.parentSpanId).toBeUndefined();
    expect(agents.filter((s) => s !== root).every((s) => s.parentSpanId === root.spanId && s.status === 'ok')).toBe(true);
    expect(trace.spans.filter((s) => s.kind === 'model').every((s) => s.endMs! >= s.startMs && s.attributes['gen_ai.request.model'] === 'offline-rules-v1')).toBe(true);

    const second = await open();
    const dash = await startDashboard({ system: second, port: 0 });
    try {
      const served = (await (await fetch(`${dash.url}api/trace/${wf.id}`, { headers: authorized(dash) })).json()) as Trace;
      expect(served.spans).toEqual(trace.spans);
      // As it was when the second node completed: fewer spans, the workflow still running.
      const mid = (await second.history(wf.id)).filter((e) => e.type === 'ChildFinished' && e.data.completesNode !== null)[1]!.position;
      const past = (await (await fetch(`${dash.url}api/trace/${wf.id}?upTo=${mid}`, { headers: authorized(dash) })).json()) as Trace;
      expect(past.position).toBe(mid);
      expect(past.spans.length).toBeLessThan(trace.spans.length);
      expect(past.spans.find((s) => s.agentId === wf.id)).toMatchObject({ status: 'running' });
      expect(past.spans.filter((s) => s.kind === 'agent')).toHaveLength(3);
      const bad = await fetch(`${dash.url}api/trace/${wf.id}?upTo=soon`, { headers: authorized(dash) });
      expect(bad.status).toBe(400);
      expect(((await bad.json()) as { error: string }).error).toMatch(/upTo/);
    } finally {
      await dash.close();
      await second.close();
    }

    // After the fact, over OTLP: the same spans reach a receiver, and as an OTLP/JSON file.
    const receiver = await startOtlpReceiver();
    try {
      const sent = await cadre({ OTEL_EXPORTER_OTLP_ENDPOINT: receiver.origin, OTEL_EXPORTER_OTLP_HEADERS: 'authorization=Bearer%20secret-token-123' }, 'trace', wf.id.slice(0, 8), '--export');
      expect(sent.code, sent.stderr).toBe(0);
      expect(sent.stderr).toMatch(new RegExp(`sent ${trace.spans.length} spans of trace ${root.traceId} to ${receiver.url} \\(http/protobuf\\)`));
      expect(receiver.spans.map((s) => s.spanId).sort()).toEqual(trace.spans.map((s) => s.spanId).sort());
      expect(receiver.requests[0]!.authorization).toBe('Bearer secret-token-123');
      const file = join(dir, 'run.otlp.json');
      const written = await cadre('trace', wf.id, '--otlp-json', file);
      expect(written.code, written.stderr).toBe(0);
      const request = JSON.parse(readFileSync(file, 'utf8')) as { resourceSpans: { scopeSpans: { spans: { spanId: string; traceId: string }[] }[] }[] };
      const inFile = request.resourceSpans.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans));
      expect(inFile.map((s) => s.spanId).sort()).toEqual(trace.spans.map((s) => s.spanId).sort());
      expect(new Set(inFile.map((s) => s.traceId))).toEqual(new Set([root.traceId]));
      // Nothing to send to, or a protocol it cannot speak: a usage error saying what to set.
      const nowhere = await cadre('trace', wf.id, '--export');
      expect(nowhere.code).toBe(2);
      expect(nowhere.stderr).toMatch(/--export needs somewhere to send the spans[\s\S]*OTEL_EXPORTER_OTLP_ENDPOINT/);
      const grpc = await cadre({ OTEL_EXPORTER_OTLP_ENDPOINT: receiver.origin, OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }, 'trace', wf.id, '--export');
      expect(grpc.code).not.toBe(0);
      expect(grpc.stderr).toMatch(/OTEL_EXPORTER_OTLP_PROTOCOL: grpc is not supported/);
      const off = await cadre({ OTEL_EXPORTER_OTLP_ENDPOINT: receiver.origin, OTEL_TRACES_EXPORTER: 'none' }, 'trace', wf.id, '--export');
      expect(off.code).toBe(2);
      expect(off.stderr).toMatch(/export is turned off by OTEL_TRACES_EXPORTER=none/);
      // A bad OpenTelemetry variable, set for some other program, does not stop a command that only reads.
      const reads = await cadre({ OTEL_EXPORTER_OTLP_ENDPOINT: 'notaurl', OTEL_EXPORTER_OTLP_TIMEOUT: 'abc' }, 'trace', wf.id, '--json');
      expect(reads.code, reads.stderr).toBe(0);
      const closed = await cadre('trace', wf.id, '--export', '--endpoint', 'http://user:hunter2pass@127.0.0.1:9/v1/traces');
      expect(closed.code).toBe(1);
      expect(closed.stderr).toMatch(/OTLP export to http:\/\/127\.0\.0\.1:9\/v1\/traces failed/);
      expect(closed.stderr).not.toContain('hunter2pass');
    } finally {
      await receiver.close();
    }
  });
});
