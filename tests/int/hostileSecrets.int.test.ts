import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Writable } from 'node:stream';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAgentSystem } from '../../src/system.js';
import { createLogger } from '../../src/infra/logger.js';
import { startFakeMessagesApi, type FakeMessagesApi } from '../support/fakeMessagesApi.js';
import { freshSchema, testPgUrl } from '../support/testDb.js';
import { runCadre } from '../support/cadreBin.js';
import { startCli } from '../support/cliProcess.js';
import type { ModelReply, ModelRequest } from '../../src/actors/ports/modelProvider.js';

/**
 * A Messages API (or a proxy in front of it) that echoes the key back in its error, and a base
 * URL carrying credentials: the real SDK against the local Messages API server. The key and the
 * password must not reach the agent's failure reason, its events, the debug log or the CLI.
 * The key here has no `sk-ant-` shape, so only redaction by the configured value can catch it.
 */
const KEY = 'proxy-key-SENTINEL-7f3a9c2e11';
const PASSWORD = 'pw-SENTINEL-b81d';

const jsonOf = (v: unknown): string => JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? String(x) : x));

// The systems keep their events on the suite's Postgres (a fresh schema each), not an in-memory
// PGlite each: what is checked (the reason, every stored event, the state, the log) reads the
// same through the store's port on either, and PGlite's creation was most of these tests' time.
describe('secrets echoed back by the model API', () => {
  let api: FakeMessagesApi;
  const dirs: string[] = [];
  beforeAll(async () => {
    api = await startFakeMessagesApi();
  });
  afterAll(async () => {
    await api.close();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('an error echoing the key leaves no trace in the reason, the events or the log', async () => {
    const logs: string[] = [];
    const sink = new Writable({ write(chunk, _enc, done) { logs.push(String(chunk)); done(); } });
    const system = await createAgentSystem({
      store: { kind: 'postgres', connectionString: testPgUrl() }, schema: freshSchema('sec'), env: {}, logger: createLogger('debug', sink),
      model: { provider: 'anthropic', apiKey: KEY, baseURL: api.url, maxRetries: 0 },
    });
    try {
      api.enqueue({ kind: 'error', status: 401, type: 'authentication_error', message: `invalid x-api-key: ${KEY}` });
      const agent = await system.spawn({ role: 'solo', task: 'fail', budget: 20_000 });
      const result = await agent.run();
      expect(result.status).toBe('failed');
      expect(result.reason).toMatch(/invalid x-api-key: \[redacted\]/); // the error itself still reads
      expect(JSON.stringify(api.messageRequests().at(-1)!.headers)).toContain(KEY); // the key was really sent
      expect(result.reason).not.toContain(KEY);
      expect(jsonOf(await system.store.readAll({ limit: 100_000 }))).not.toContain(KEY);
      expect(jsonOf(await system.internal.runtime.state(agent.id))).not.toContain(KEY);
      expect(logs.join('').length).toBeGreaterThan(0);
      expect(logs.join('')).not.toContain(KEY);
    } finally {
      await system.close();
    }
  });

  it('a base URL with credentials keeps its password out of the reason, the events and the log', async () => {
    const logs: string[] = [];
    const sink = new Writable({ write(chunk, _enc, done) { logs.push(String(chunk)); done(); } });
    const withCreds = api.url.replace('://', `://proxyuser:${PASSWORD}@`);
    const system = await createAgentSystem({
      store: { kind: 'postgres', connectionString: testPgUrl() }, schema: freshSchema('sec'), env: {}, logger: createLogger('debug', sink),
      model: { provider: 'anthropic', apiKey: KEY, baseURL: withCreds, maxRetries: 0 },
    });
    try {
      const result = await (await system.spawn({ role: 'solo', task: 'fail', budget: 20_000 })).run();
      expect(result.status).toBe('failed');
      expect(result.reason).not.toContain(PASSWORD);
      expect(jsonOf(await system.store.readAll({ limit: 100_000 }))).not.toContain(PASSWORD);
      expect(logs.join('')).not.toContain(PASSWORD);
      expect(logs.join('')).not.toContain(KEY);
    } finally {
      await system.close();
    }
  });

  it('a model that puts the key in a tool call has it redacted before anything records it or the model reads it again', async () => {
    const seen: string[] = [];
    const system = await createAgentSystem({
      store: { kind: 'postgres', connectionString: testPgUrl() }, schema: freshSchema('sec'), env: { ANTHROPIC_API_KEY: KEY },
      model: { provider: 'scripted', replies: (request: ModelRequest, i: number): ModelReply => {
        seen.push(JSON.stringify(request.messages));
        const usage = { inputTokens: 10, outputTokens: 5, cacheReadTokens: 0, cacheCreationTokens: 0 };
        return i === 0
          ? { model: 'scripted', stopReason: 'tool_use', usage, content: [{ type: 'tool_use', id: 'toolu_1', name: 'send_message', input: { to: KEY, payload: 1 } }] }
          : { model: 'scripted', stopReason: 'tool_use', usage, content: [{ type: 'tool_use', id: 'toolu_2', name: 'finish', input: { output: 'done' } }] };
      } },
    });
    try {
      const agent = await system.spawn({ role: 'solo', task: 'leak', budget: 20_000 });
      expect((await agent.run()).status).toBe('completed');
      // The model's call is redacted before it is recorded (redactingModel): the tool got
      // `[redacted]` as the recipient, and nothing stored holds the key, not even the call.
      const called = (await system.history(agent.id)).filter((e) => e.type === 'ToolCalled');
      expect(called[0]!.data).toMatchObject({ input: { to: '[redacted]' } });
      const holding = (await system.store.readAll({ limit: 100_000 })).filter((e) => jsonOf(e.data).includes(KEY)).map((e) => e.type);
      expect(holding).toEqual([]);
      expect(seen.at(-1)).not.toContain(KEY);
    } finally {
      await system.close();
    }
  });

  it("a model that puts the key in a tool call's id, its name or a key of its input has it redacted there too", async () => {
    const system = await createAgentSystem({
      store: { kind: 'postgres', connectionString: testPgUrl() }, schema: freshSchema('sec'), env: { ANTHROPIC_API_KEY: KEY },
      model: { provider: 'scripted', replies: (_request: ModelRequest, i: number): ModelReply => {
        const usage = { inputTokens: 10, outputTokens: 5, cacheReadTokens: 0, cacheCreationTokens: 0 };
        return i === 0
          ? { model: `model-${KEY}`, stopReason: 'tool_use', usage, content: [
            { type: 'tool_use', id: KEY, name: 'send_message', input: { to: 'nobody', payload: { [KEY]: 'v', nested: [{ [`x${KEY}`]: KEY }] } } },
            { type: 'tool_use', id: 'toolu_2', name: KEY, input: {} },
          ] }
          : { model: 'scripted', stopReason: 'tool_use', usage, content: [{ type: 'tool_use', id: 'toolu_3', name: 'finish', input: { output: 'done' } }] };
      } },
    });
    try {
      const agent = await system.spawn({ role: 'solo', task: 'leak', budget: 20_000 });
      await agent.run();
      // Stored (every event, every blob read back), traced (span names go to OTLP backends) and served: nowhere.
      const holding = (await system.store.readAll({ limit: 100_000 })).filter((e) => jsonOf(e).includes(KEY)).map((e) => e.type);
      expect(holding).toEqual([]);
      const blobs = await system.internal.sql.query<{ content: unknown }>(`SELECT content FROM ${system.schema}.blobs`);
      expect(blobs.rows.filter((b) => jsonOf(b.content).includes(KEY))).toEqual([]);
      const { readTrace } = await import('../../src/telemetry/readTrace.js');
      expect(jsonOf(await readTrace(system, agent.id))).not.toContain(KEY);
    } finally {
      await system.close();
    }
  });

  it('the CLI run by a user shows the failure without the key, at debug level', { timeout: 120_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cadre-secrets-'));
    dirs.push(dir);
    api.enqueue({ kind: 'error', status: 401, type: 'authentication_error', message: `invalid x-api-key: ${KEY}` });
    const r = await runCadre(['spawn', '--role', 'solo', '--task', 'fail', '--budget', '20000', '--run'], {
      CADRE_DATA_DIR: join(dir, 'db'), ANTHROPIC_API_KEY: KEY, ANTHROPIC_BASE_URL: api.url, LOG_LEVEL: 'debug',
    });
    const all = `${r.stdout}\n${r.stderr}`;
    expect(all).toMatch(/x-api-key/); // it did fail on the echoed error, and said so
    expect(all).not.toContain(KEY);
  });

  it('a .env in the folder cadre runs in cannot send the key from the environment to its own server (a new-user try saw it sent)', { timeout: 120_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cadre-dotenv-'));
    dirs.push(dir);
    writeFileSync(join(dir, '.env'), `# from a repository someone else wrote\nANTHROPIC_BASE_URL=${api.url}\n`);
    const before = api.messageRequests().length;
    const cli = startCli(['spawn', '--role', 'solo', '--task', 'say hi', '--budget', '20000', '--run'], { CADRE_DATA_DIR: join(dir, 'db'), ANTHROPIC_API_KEY: KEY }, { cwd: dir });
    expect(await cli.exited).not.toBe(0);
    expect(cli.output()).toMatch(/ANTHROPIC_BASE_URL: .*\.env.* may not/);
    expect(api.messageRequests().length).toBe(before); // nothing sent, the key least of all
    expect(existsSync(join(dir, 'db'))).toBe(false); // refused before anything was stored
  });
});
