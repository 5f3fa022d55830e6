import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Writable } from 'node:stream';
import { createAgentSystem, type AgentSystem } from '../../src/system.js';
import { createLogger } from '../../src/infra/logger.js';
import { patternRedactor } from '../../src/infra/redact.js';
import { startFakeMessagesApi, type FakeMessagesApi } from '../support/fakeMessagesApi.js';
import { freshSchema } from '../support/testDb.js';
import { startDashboard } from '../../src/dashboard/server.js';
import { authorized } from '../support/dashboardAuth.js';

const SECRET = 'sk-ant-SENTINEL-never-log-me-0123456789';

/**
 * Secrets (the API key here) must never reach logs, stored events, blobs or error messages,
 * even when the model path fails and everything is logged at debug level.
 */
describe('secrets stay secret', () => {
  let api: FakeMessagesApi;
  let system: AgentSystem;
  const logs: string[] = [];
  beforeAll(async () => {
    api = await startFakeMessagesApi();
    const sink = new Writable({ write(chunk, _enc, done) { logs.push(String(chunk)); done(); } });
    system = await createAgentSystem({
      store: { kind: 'pglite' },
      schema: freshSchema('sec'),
      env: {},
      logger: createLogger('debug', sink),
      model: { provider: 'anthropic', apiKey: SECRET, baseURL: api.url, maxRetries: 0 },
    });
  });
  afterAll(async () => {
    await system.close();
    await api.close();
  });

  it('a successful turn and a failing one leave no trace of the key', async () => {
    api.enqueue({ kind: 'message', message: { content: [{ type: 'tool_use', id: 'toolu_1', name: 'finish', input: { output: 'done' } }], stopReason: 'tool_use' } });
    const solo = await system.spawn({ role: 'solo', task: 'finish', budget: 20_000 });
    const ok = await solo.run();
    expect(ok.status).toBe('completed');
    // The key did reach the API (so the test is real) ...
    expect(JSON.stringify(api.messageRequests()[0]!.headers)).toContain(SECRET);

    api.enqueue({ kind: 'error', status: 401, type: 'authentication_error', message: 'invalid x-api-key' });
    const failed = await (await system.spawn({ role: 'solo', task: 'fail', budget: 20_000 })).run();
    expect(failed.status).toBe('failed');
    expect(failed.reason ?? '').not.toContain(SECRET);

    // ... but nowhere in what cadre stores or logs.
    const events = await system.store.readAll({ limit: 100_000 });
    expect(JSON.stringify(events, (_k, v) => (typeof v === 'bigint' ? String(v) : v))).not.toContain(SECRET);
    const blobs = await system.internal.sql.query<{ content: unknown }>(`SELECT content FROM ${system.schema}.blobs`);
    expect(JSON.stringify(blobs.rows)).not.toContain(SECRET);
    expect(logs.join('')).not.toContain(SECRET);

    // The dashboard shows states, timelines and health, never the key.
    const dash = await startDashboard({ system, port: 0 });
    try {
      const paths = ['/api/health', '/api/roots', `/api/agents/${solo.id}`, `/api/agents/${solo.id}/events`, `/api/agents/${solo.id}/ledger`, `/api/tree/${solo.id}`, '/', '/app.js'];
      for (const path of paths) {
        const res = await fetch(new URL(path, dash.url), { headers: authorized(dash) });
        expect(res.status, path).toBe(200);
        expect(res.status, path).toBeLessThan(500);
        expect(await res.text(), path).not.toContain(SECRET);
      }
    } finally {
      await dash.close();
    }
  });

  it('a secret a caller types (a task, a message, a workflow, a reason) is recorded redacted and never sent to the model', async () => {
    // A new user's try: `cadre spawn --task "deploy with key <the key>"` and `cadre send A B
    // '{"k":"<the key>"}'` stored it verbatim, sent it to the model, and `history` printed it.
    api.enqueue({ kind: 'message', message: { content: [{ type: 'tool_use', id: 'toolu_2', name: 'finish', input: { output: 'deployed' } }], stopReason: 'tool_use' } });
    const before = api.messageRequests().length;
    const typed = await system.spawn({ role: 'deployer', task: `deploy with key ${SECRET} now`, budget: 20_000 });
    const peer = await system.spawn({ role: 'peer', task: 'wait', budget: 1_000 });
    await system.messaging.send(typed.id, peer.id, { k: SECRET, nested: [`x ${SECRET} y`], n: 1, [SECRET]: 'as a name', [`${SECRET}!`]: { [SECRET]: 2 }, 'sk-ant-another-key-0123': 'a second name' });
    await system.spawnWorkflow({ task: `ship it, key ${SECRET}`, budget: 20_000, graph: { nodes: [{ id: 'a', role: 'implementer', task: `build with ${SECRET}`, budgetPercent: 50, dependencies: [] }] } });
    await system.terminate(peer.id, `fired, key ${SECRET}`);
    expect((await typed.run()).status).toBe('completed');

    const events = await system.store.readAll({ limit: 100_000 });
    expect(JSON.stringify(events, (_k, v) => (typeof v === 'bigint' ? String(v) : v))).not.toContain(SECRET);
    for (const table of ['blobs', 'messages']) {
      const rows = await system.internal.sql.query(`SELECT * FROM ${system.schema}.${table}`);
      expect(JSON.stringify(rows.rows, (_k, v) => (typeof v === 'bigint' ? String(v) : v)), table).not.toContain(SECRET);
    }
    const sent = api.messageRequests().slice(before);
    expect(sent.length).toBeGreaterThan(0);
    expect(JSON.stringify(sent.map((r) => r.body))).not.toContain(SECRET);
    // What was typed is kept around it: the redaction takes the key out, not the task.
    const history = await system.history(typed.id);
    expect(history[0]!.data).toMatchObject({ task: 'deploy with key [redacted] now' });
    const sentEvent = history.find((e) => e.type === 'MessageSent');
    expect(sentEvent?.data).toMatchObject({ payload: { k: '[redacted]', nested: ['x [redacted] y'], n: 1, '[redacted]': 'as a name', '[redacted]!': { '[redacted]': 2 }, '[redacted] 2': 'a second name' } });
  });

  it('redacts keys and connection-string passwords from log objects and urls', () => {
    const lines: string[] = [];
    const log = createLogger('info', new Writable({ write(c, _e, d) { lines.push(String(c)); d(); } }));
    log.info({ apiKey: SECRET, model: { apiKey: SECRET }, headers: { authorization: `Bearer ${SECRET}` }, connectionString: 'postgres://u:pw-SENTINEL@h/db' }, 'config');
    expect(lines.join('')).not.toContain(SECRET);
    expect(lines.join('')).not.toContain('pw-SENTINEL');
    expect(patternRedactor.text('postgres://user:pw-SENTINEL@127.0.0.1:5432/db')).toBe('postgres://user:***@127.0.0.1:5432/db');
  });
});
