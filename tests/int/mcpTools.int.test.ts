import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { ModelReply, ModelRequest } from '../../src/actors/ports/modelProvider.js';
import { tool } from '../../src/actors/userTool.js';
import { McpServerFailed } from '../../src/errors.js';
import { createLogger } from '../../src/infra/logger.js';
import { createScriptedProvider } from '../../src/infra/model/scriptedProvider.js';
import type { AgentSystem } from '../../src/system.js';
import { startFakeMessagesApi } from '../support/fakeMessagesApi.js';
import { freePort } from '../support/freePort.js';
import { startMcpHttpFixture, type McpHttpFixture } from '../support/mcpHttpServer.js';
import { testSystem } from '../support/system.js';
import { freshSchema } from '../support/testDb.js';

/**
 * MCP servers as tool sources, through the public API: the fixture (tests/fixtures/mcpServer.mjs)
 * over stdio as a child process and over streamable HTTP in this process, a scripted model that
 * calls their tools as Claude would, and what is shown, recorded, logged and closed.
 */
const FIXTURE = join(process.cwd(), 'tests', 'fixtures', 'mcpServer.mjs');
/** Secrets given to the servers: they must reach the servers and nothing cadre stores or logs. */
const ENV_SECRET = 'env-secret-4f9d2c81';
const HEADER_SECRET = 'hdr-secret-77a1e0b3';
const AUTHORIZATION = `Bearer ${HEADER_SECRET}`;

const stdioCalc = { name: 'calc', command: process.execPath, args: [FIXTURE], env: { FIXTURE_SECRET: ENV_SECRET } };
const usage = { inputTokens: 10, outputTokens: 10, cacheReadTokens: 0, cacheCreationTokens: 0 };
const call = (id: string, name: string, input: unknown): ModelReply => ({ model: 'scripted', content: [{ type: 'tool_use', id, name, input }], stopReason: 'tool_use', usage });

/** Log lines written at debug and above, for the secret scan and the servers' pids. */
function capturedLogs() {
  const lines: string[] = [];
  const logger = createLogger('debug', new Writable({ write(chunk, _enc, done) { lines.push(String(chunk)); done(); } }));
  // The line a started stdio server logs carries its child's pid.
  const pids = () => lines.map((l) => JSON.parse(l) as { mcpServer?: string; pid?: unknown }).flatMap((l) => (l.mcpServer && typeof l.pid === 'number' ? [l.pid] : []));
  return { lines, logger, pids };
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function gone(pid: number, withinMs = 8000): Promise<boolean> {
  const until = Date.now() + withinMs;
  while (alive(pid) && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
  return !alive(pid);
}

let http: McpHttpFixture | null = null;
let system: AgentSystem | null = null;
afterEach(async () => {
  await system?.close();
  await http?.close();
  system = null;
  http = null;
});

describe('MCP servers as tool sources', () => {
  it('shows their tools namespaced with their schemas, runs and records calls over stdio and HTTP, and ends the stdio child on close', { timeout: 60_000 }, async () => {
    http = await startMcpHttpFixture({ authorization: AUTHORIZATION });
    const requests: ModelRequest[] = [];
    const script = ['calc__add', 'calc__fail', 'web__add', 'calc__echo_env', 'spawn_agent', 'finish'];
    const inputs: Record<string, unknown> = { calc__add: { a: 2, b: 3 }, web__add: { a: 4, b: 5 }, spawn_agent: { role: 'helper', task: 'help', budget: 5000 }, finish: { output: `done; the env held ${ENV_SECRET}` } };
    const model = createScriptedProvider((r) => {
      requests.push(r);
      if (r.agent?.role === 'helper') return call('toolu_h', 'finish', { output: 'helped' });
      const step = Math.floor((r.messages.length - 1) / 2);
      const name = script[Math.min(step, script.length - 1)]!;
      const reply = call(`toolu_${step}_${name}`, name, inputs[name] ?? {});
      // A model that repeats a server's secret (it could have read it in a tool result): its reply
      // is recorded, and other processes on the store do not know the secret to hide it.
      return name === 'finish' ? { ...reply, content: [{ type: 'text', text: `The secret is ${ENV_SECRET}.` }, ...reply.content] } : reply;
    });
    const { lines, logger, pids } = capturedLogs();
    system = await testSystem('postgres', { model, logger, mcpServers: [stdioCalc, { name: 'web', url: http.url, headers: { Authorization: AUTHORIZATION } }] });
    const [pid] = pids();
    expect(pid).toBeGreaterThan(0);
    expect(alive(pid!)).toBe(true);

    const agent = await system.spawn({ role: 'accountant', task: 'Add things up.', budget: 100_000 });
    expect(await agent.run()).toMatchObject({ status: 'completed', output: 'done; the env held [redacted]' });

    // Shown: every server's tools, namespaced, with the server's own JSON Schema and description.
    const shown = requests[0]!.tools;
    expect(shown.map((t) => t.name).filter((n) => n.includes('__'))).toEqual(['calc__add', 'calc__echo_env', 'calc__fail', 'web__add', 'web__echo_env', 'web__fail']);
    const add = shown.find((t) => t.name === 'calc__add')!;
    expect(add.description).toBe('Adds two numbers.');
    expect(add.inputSchema).toEqual({ type: 'object', properties: { a: { type: 'number' }, b: { type: 'number' } }, required: ['a', 'b'] });

    // Recorded like any tool: the call before, the result after; an error result and the agent went on.
    const history = await system.history(agent.id);
    const called = history.filter((e) => e.type === 'ToolCalled').map((e) => (e.data as { name: string }).name);
    expect(called).toEqual(expect.arrayContaining(['calc__add', 'calc__fail', 'web__add', 'calc__echo_env']));
    const returned = Object.fromEntries(history.filter((e) => e.type === 'ToolReturned').map((e) => {
      const d = e.data as { toolUseId: string; output: string; isError: boolean };
      return [d.toolUseId.replace(/^toolu_\d+_/, ''), { output: d.output, isError: d.isError }];
    }));
    expect(returned.calc__add).toEqual({ output: '5', isError: false });
    expect(returned.calc__fail).toEqual({ output: 'the fail tool always fails', isError: true });
    expect(returned.web__add).toEqual({ output: '9', isError: false });
    expect(returned.calc__echo_env).toEqual({ output: 'FIXTURE_SECRET is set', isError: false });
    expect(history[0]!.data).toMatchObject({ tools: expect.arrayContaining(['calc__add', 'web__fail']) });
    // The HTTP server was sent the header (it answers 401 without it).
    expect(http.requests.length).toBeGreaterThan(0);
    expect(http.requests.every((h) => h.authorization === AUTHORIZATION)).toBe(true);

    // A child inherits them; spawn({ tools }) picks by name.
    expect(requests.find((r) => r.agent?.role === 'helper')!.tools.map((t) => t.name)).toContain('web__echo_env');
    const picky = await system.spawn({ role: 'picky', task: 'Only add.', budget: 10_000, tools: ['calc__add'] });
    await picky.run();
    expect(requests.at(-1)!.tools.map((t) => t.name).filter((n) => n.includes('__'))).toEqual(['calc__add']);

    // Configuration, not data: the env value and the header are in no stored event and no log line.
    // Read once readAll sees this system's newest event: an open transaction in another test
    // file's database holds back what it sees (xids are cluster-wide; it once read nothing here).
    const newest = (await system.history(picky.id)).at(-1)!.position;
    let events = await system.store.readAll();
    for (const deadline = Date.now() + 20_000; !events.some((e) => e.position >= newest) && Date.now() < deadline; events = await system.store.readAll()) await new Promise((r) => setTimeout(r, 50));
    const all = JSON.stringify(events, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v));
    expect(all).toContain('calc__echo_env');
    for (const secret of [ENV_SECRET, HEADER_SECRET]) {
      expect(all).not.toContain(secret);
      expect(lines.join('')).not.toContain(secret);
    }
    expect(lines.length).toBeGreaterThan(0);

    await system.close();
    system = null;
    expect(await gone(pid!)).toBe(true);
  });

  it("a stdio server gets none of this process's environment; one that dies makes its tools answer with an error", { timeout: 60_000 }, async () => {
    const { logger, pids, lines } = capturedLogs();
    const model = createScriptedProvider(async (r) => {
      const step = (r.messages.length - 1) / 2;
      if (step === 0) return call('toolu_env', 'bare__echo_env', {});
      if (step > 1) return call('toolu_fin', 'finish', { output: 'went on' });
      // Between the two calls, the server dies.
      process.kill(pids()[0]!, 'SIGKILL');
      expect(await gone(pids()[0]!)).toBe(true);
      return call('toolu_add', 'bare__add', { a: 1, b: 1 });
    });
    process.env.FIXTURE_SECRET = ENV_SECRET;
    try {
      system = await testSystem('postgres', { model, logger, mcpServers: [{ name: 'bare', command: process.execPath, args: [FIXTURE] }] });
    } finally {
      delete process.env.FIXTURE_SECRET;
    }
    const agent = await system.spawn({ role: 'r', task: 't', budget: 50_000 });
    expect(await agent.run()).toMatchObject({ status: 'completed', output: 'went on' });
    const returned = (await system.history(agent.id)).filter((e) => e.type === 'ToolReturned').map((e) => e.data as { name: string; output: string; isError: boolean });
    expect(returned[0]).toMatchObject({ name: 'bare__echo_env', output: 'FIXTURE_SECRET is not set', isError: false });
    expect(returned[1]).toMatchObject({ name: 'bare__add', isError: true, output: expect.stringMatching(/^MCP server bare failed the call: /) });
    expect(lines.join('')).toContain('MCP server bare closed the connection');
  });

  it('a process without the server leaves the agent to one that has it; after the timeout it fails, naming the tool', { timeout: 60_000 }, async () => {
    const schema = freshSchema('mcp');
    const model = createScriptedProvider((r) => (r.messages.length === 1 ? call('toolu_add', 'calc__add', { a: 1, b: 2 }) : call('toolu_fin', 'finish', { output: 'three' })));
    const first = await testSystem('postgres', { schema, model, mcpServers: [stdioCalc] });
    const agent = await first.spawn({ role: 'r', task: 'Add 1 and 2.', budget: 50_000 });
    await first.close(); // spawned, never run: whoever runs it needs the calc server

    system = await testSystem('postgres', { schema, model, missingToolTimeoutMs: 1500 });
    const result = await system.run(agent.id);
    expect(result.status).toBe('failed');
    expect(result.reason).toMatch(/no process on this store has the tools calc__add, calc__echo_env, calc__fail registered .*createAgentSystem\(\{ mcpServers \}\)/);
    expect((await system.history(agent.id)).some((e) => e.type === 'ToolCalled')).toBe(false);
  });

  it('a listed tool MCP forbids (a non-object input schema) is left out with a warning; the server and its other tools work', { timeout: 60_000 }, async () => {
    const model = createScriptedProvider((r) => (r.messages.length === 1 ? call('toolu_g', 'odd__good', {}) : call('toolu_f', 'finish', { output: 'ok' })));
    const { lines, logger } = capturedLogs();
    // This file's systems are all on the suite's Postgres (these five were in-memory PGlite, a new
    // one each): the MCP servers' handling does not depend on the store.
    system = await testSystem('postgres', { model, logger, mcpServers: [{ name: 'odd', command: process.execPath, args: [join(process.cwd(), 'tests', 'fixtures', 'mcpMalformedServer.mjs')] }] });
    const agent = await system.spawn({ role: 'user', task: 'Use it.', budget: 20_000 });
    expect(await agent.run()).toMatchObject({ status: 'completed' });
    const returned = (await agent.history()).find((e) => e.type === 'ToolReturned')!.data;
    expect(returned).toMatchObject({ name: 'odd__good', output: 'fine', isError: false });
    expect((await agent.history())[0]!.data).toMatchObject({ tools: expect.not.arrayContaining(['odd__bad']) });
    expect(lines.join('')).toContain('MCP server odd: a listed tool is left out: inputSchema.type');
  });

  it('refuses a bad mcpServers option, naming the field', async () => {
    const bad = async (mcpServers: unknown) => testSystem('postgres', { mcpServers: mcpServers as never });
    await expect(bad([{ ...stdioCalc, bogus: 1 }])).rejects.toThrow(/options\.mcpServers\[0\]: Unrecognized key: "bogus"/);
    await expect(bad([{ ...stdioCalc, name: 'my server' }])).rejects.toThrow(/options\.mcpServers\[0\]\.name: must be letters, digits/);
    await expect(bad([{ ...stdioCalc, name: 'a__b' }])).rejects.toThrow(/options\.mcpServers\[0\]\.name/);
    await expect(bad([{ ...stdioCalc, name: 'x'.repeat(62) }])).rejects.toThrow(/options\.mcpServers\[0\]\.name: must be at most 61 characters: its tools are named <server>__<tool>/);
    await expect(bad([{ name: 'calc' }])).rejects.toThrow(/options\.mcpServers\[0\]\.command: give either command .* or url/);
    await expect(bad([{ ...stdioCalc, headers: { A: 'b' } }])).rejects.toThrow(/options\.mcpServers\[0\]\.headers: is not an option of a stdio server/);
    await expect(bad([{ name: 'web', url: 'ftp://example.com' }])).rejects.toThrow(/options\.mcpServers\[0\]\.url/);
    await expect(bad([stdioCalc, { ...stdioCalc }])).rejects.toThrow(/options\.mcpServers\[1\]\.name: another MCP server is named calc/);
  });

  it('a server that fails to start makes createAgentSystem reject naming it, and closes the ones it started', { timeout: 60_000 }, async () => {
    const { logger, pids, lines } = capturedLogs();
    // Its stderr (quoted in the error) prints the secret: the error must not.
    const dying = { name: 'dying', command: process.execPath, args: ['-e', 'console.error("token " + process.env.TOKEN); process.exit(3)'], env: { TOKEN: ENV_SECRET } };
    const err = await testSystem('postgres', { logger, mcpServers: [stdioCalc, dying] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(McpServerFailed);
    expect((err as McpServerFailed).server).toBe('dying');
    expect((err as Error).message).toMatch(/^MCP server dying did not start: .*its stderr ends: token \[redacted\]/);
    expect((err as Error).message).not.toContain(ENV_SECRET);
    // calc had started (it logged its pid) and was closed.
    expect(pids()).toHaveLength(1);
    expect(await gone(pids()[0]!)).toBe(true);
    expect(lines.join('')).not.toContain(ENV_SECRET);

    // A failure after the servers started (a user tool under an MCP tool's name) closes them too.
    const clash = capturedLogs();
    const mine = tool({ name: 'calc__add', description: 'Mine.', input: z.object({}), run: () => 'mine' });
    await expect(testSystem('postgres', { logger: clash.logger, tools: [mine], mcpServers: [stdioCalc] })).rejects.toThrow(/mcpServers\[0\]\.name: another tool named calc__add/);
    expect(clash.pids()).toHaveLength(1);
    expect(await gone(clash.pids()[0]!)).toBe(true);

    await expect(testSystem('postgres', { mcpServers: [{ name: 'nowhere', command: '/nonexistent/mcp-server' }] })).rejects.toThrow(/MCP server nowhere did not start: .*ENOENT/);
    await expect(testSystem('postgres', { mcpServers: [{ name: 'offline', url: `http://127.0.0.1:${await freePort()}/mcp` }] })).rejects.toThrow(/MCP server offline did not start/);
  });
});

describe('an MCP tool through the real SDK (local Messages API)', () => {
  it('runs the tool_use and sends its result back', { timeout: 60_000 }, async () => {
    const api = await startFakeMessagesApi();
    api.enqueue(
      { kind: 'message', message: { content: [{ type: 'tool_use', id: 'toolu_add', name: 'calc__add', input: { a: 20, b: 22 } }] } },
      { kind: 'message', message: { content: [{ type: 'tool_use', id: 'toolu_fin', name: 'finish', input: { output: 'forty-two' } }] } },
    );
    try {
      system = await testSystem('postgres', { model: { provider: 'anthropic', apiKey: 'sk-test', baseURL: api.url, maxRetries: 0 }, mcpServers: [stdioCalc] });
      const agent = await system.spawn({ role: 'accountant', task: 'What is 20 + 22?', budget: 50_000 });
      expect(await agent.run()).toMatchObject({ status: 'completed', output: 'forty-two' });
      const [first, second] = api.messageRequests().map((r) => r.body as { tools: Array<{ name: string; input_schema: unknown }>; messages: Array<{ content: unknown }> });
      expect(first!.tools.find((t) => t.name === 'calc__add')?.input_schema).toEqual({ type: 'object', properties: { a: { type: 'number' }, b: { type: 'number' } }, required: ['a', 'b'] });
      expect(second!.messages.at(-1)!.content).toEqual([expect.objectContaining({ type: 'tool_result', tool_use_id: 'toolu_add', content: '42' })]);
    } finally {
      await api.close();
    }
  });
});
