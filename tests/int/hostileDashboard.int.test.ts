import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { request } from 'node:http';
import type { AgentSystem } from '../../src/system.js';
import { startDashboard, type Dashboard } from '../../src/dashboard/server.js';
import { testSystem } from '../support/system.js';

/**
 * The dashboard's HTTP surface with hostile requests: malformed escapes, traversal, enormous and
 * unicode ids, bad query values, other methods, wrong tokens. Every one gets a 4xx with a JSON
 * error (never a 500 or a hang), nothing is written, and the server keeps answering.
 */
const RUNS = Number(process.env.CADRE_HOSTILE_RUNS ?? 40);
const TOKEN = 'a-test-token-of-some-length';

function get(port: number, path: string, options: { method?: string; token?: string | null } = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = {};
    if (options.token !== null) headers.authorization = `Bearer ${options.token ?? TOKEN}`;
    const req = request({ host: '127.0.0.1', port, path, method: options.method ?? 'GET', headers, timeout: 10_000 }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error(`no answer to ${path}`)));
    req.on('error', reject);
    req.end();
  });
}

const segment = fc.oneof(
  fc.constantFrom('%', '%zz', '%E0%A4%A', '..', '%2e%2e', '%2F', '..%2F..%2Fetc%2Fpasswd', 'a'.repeat(5000), '%00', '%F0%9F%9A%80', "'%20OR%201=1", '*', '-x', '__proto__', 'constructor'),
  fc.string({ maxLength: 20 }).map((s) => encodeURIComponent(s)),
);
const hostilePath = fc.oneof(
  segment.map((s) => `/api/agents/${s}`),
  segment.map((s) => `/api/agents/${s}/events`),
  segment.map((s) => `/api/tree/${s}`),
  segment.map((s) => `/api/trace/${s}`),
  segment.map((s) => `/api/trace/AGENT?upTo=${s}`),
  segment.map((s) => `/api/money/${s}`),
  segment.map((s) => `/api/workflows/${s}/graph`),
  fc.tuple(segment, segment).map(([a, b]) => `/api/agents/${a}/prompt/${b}`),
  fc.tuple(segment, segment).map(([a, b]) => `/api/agents/${a}/${b}`),
  segment.map((s) => `/api/agents/AGENT/replay?to=${s}`),
  fc.constantFrom('/api/agents/AGENT/replay?to=-1', '/api/agents/AGENT/replay?to=99999999999999999999999', '/api/agents/AGENT/replay', '/api/nope', '/../../etc/passwd', '/%2e%2e/package.json', '/index.html%00.js', '/.env'),
  segment.map((s) => `/${s}`),
  // `..` segments that normalise to the page itself or to the live event stream are fair requests,
  // and so is a replay to revision 0 (the agent's spawn, its one revision), and a trace up to a
  // position (any whole number): a random segment "0" made one of each and failed a CI run.
).filter((p) => !['/', '/api/events'].includes(new URL(p, 'http://x').pathname) && !/\/replay\?to=0+$/.test(p) && !/\/trace\/AGENT\?upTo=\d{1,15}$/.test(p));

describe('hostile dashboard requests', () => {
  let system: AgentSystem;
  let dash: Dashboard;
  let agentId: string;
  beforeAll(async () => {
    system = await testSystem('pglite', { model: { provider: 'offline', latencyMs: 0 } });
    agentId = (await system.spawn({ role: 'lead', task: 'be looked at', budget: 1000 })).id;
    dash = await startDashboard({ system, port: 0, token: TOKEN });
  });
  afterAll(async () => {
    await dash?.close();
    await system?.close();
  });

  it('a port already taken is refused naming the port and a way out, not with the raw listen error', async () => {
    const err = await startDashboard({ system, port: dash.port, token: TOKEN }).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(new RegExp(`invalid port: .*:${dash.port} is in use .*--port 0 for a free one`));
  });

  it('answers every one with a 4xx JSON error and keeps serving', { timeout: 120_000 }, async () => {
    let tried = 0;
    await fc.assert(
      fc.asyncProperty(hostilePath, async (raw) => {
        tried++;
        const path = raw.replace('AGENT', agentId);
        const before = await system.store.headPosition();
        const r = await get(dash.port, path);
        expect(r.status, `${path.slice(0, 120)} → ${r.body.slice(0, 200)}`).toBeGreaterThanOrEqual(400);
        expect(r.status, `${path.slice(0, 120)} → ${r.body.slice(0, 200)}`).toBeLessThan(500);
        expect(() => JSON.parse(r.body)).not.toThrow();
        expect(await system.store.headPosition()).toBe(before);
      }),
      { numRuns: RUNS * 3 },
    );
    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH']) expect((await get(dash.port, `/api/agents/${agentId}`, { method })).status).toBe(405);
    for (const token of [null, '', 'wrong', TOKEN.slice(0, -1), `${TOKEN}x`]) expect((await get(dash.port, '/api/health', { token })).status).toBe(401);
    // A `to` given but not a revision is named as such ("give ?to=<revision>" read as if it were missing).
    for (const to of ['-1', '1e2']) expect(JSON.parse((await get(dash.port, `/api/agents/${agentId}/replay?to=${to}`)).body)).toEqual({ error: `?to must be a revision: a whole number written in digits, 0 or more (got "${to}")` });
    const ok = await get(dash.port, `/api/agents/${agentId}`);
    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.body)).toMatchObject({ id: agentId });
    console.log(`[hostile] dashboard requests refused: ${tried + 9}`);
  });
});
