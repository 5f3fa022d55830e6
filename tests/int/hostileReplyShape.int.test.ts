import { afterEach, describe, expect, it } from 'vitest';
import { PlanningFailed } from '../../src/errors.js';
import { createAgentSystem, type AgentSystem } from '../../src/system.js';
import type { ModelProvider, ModelReply, ModelRequest } from '../../src/actors/ports/modelProvider.js';
import { MAX_TOOL_CALLS_PER_REPLY, MAX_TOOL_INPUT_DEPTH } from '../../src/infra/model/modelReplySchema.js';
import { freshSchema, testPgUrl } from '../support/testDb.js';

/**
 * Replies a hostile server (or a broken proxy) can send that a hostile-model try found to break a
 * promise: thousands of tool calls in one reply held the process for minutes, deaf to SIGTERM; an
 * input nested thousands deep overflowed the stack after the call and was charged nothing; a reply
 * naming a free model was priced at $0.
 */
describe('a reply shaped to hurt', () => {
  let system: AgentSystem | undefined;
  afterEach(() => system?.close());
  const usage = { inputTokens: 1_000_000, outputTokens: 10, cacheReadTokens: 0, cacheCreationTokens: 0 };
  /** A provider handing cadre whatever the server sent, as the Anthropic one does (the scripted one refuses a bad reply itself). */
  const open = async (reply: (request: ModelRequest, i: number) => ModelReply): Promise<AgentSystem> => {
    let calls = 0;
    const model: ModelProvider = { name: 'hostile', isLLM: true, defaultModel: 'scripted', estimateInputTokens: () => 100, complete: async (request) => reply(request, calls++) };
    return (system = await createAgentSystem({ store: { kind: 'postgres', connectionString: testPgUrl() }, schema: freshSchema('hrs'), env: {}, model }));
  };

  /** The agent ran one call and failed it as answered: charged the whole reservation, nothing more run. */
  async function chargedItsReservation(s: AgentSystem, id: string, reason: RegExp): Promise<void> {
    const history = await s.history(id);
    const requested = history.find((e) => e.type === 'ModelRequested')!.data as { reserved: number };
    expect((history[3]!.data as { error: string }).error).toMatch(reason);
    expect(history.map((e) => e.type)).toEqual(['AgentSpawned', 'AgentStarted', 'ModelRequested', 'ModelFailed', 'BudgetSettled', 'AgentFailed']);
    expect((await s.get(id).state()).budget).toMatchObject({ consumed: requested.reserved, reserved: 0 });
  }

  it(`more than ${MAX_TOOL_CALLS_PER_REPLY} tool calls in one reply: the call fails at once, charged its reservation`, async () => {
    const s = await open(() => ({ model: 'scripted', stopReason: 'tool_use', usage, content: Array.from({ length: 20_000 }, (_, i) => ({ type: 'tool_use' as const, id: `x${i}`, name: 'nosuch', input: {} })) }));
    const agent = await s.spawn({ role: 'r', task: 't', budget: 50_000 });
    const started = performance.now();
    expect((await agent.run()).status).toBe('failed');
    expect(performance.now() - started).toBeLessThan(10_000);
    await chargedItsReservation(s, agent.id, new RegExp(`must make at most ${MAX_TOOL_CALLS_PER_REPLY} tool calls`));
  }, 60_000);

  it(`an input nested deeper than ${MAX_TOOL_INPUT_DEPTH} levels (5,000 overflowed the stack and was charged nothing): charged its reservation`, async () => {
    let deep: unknown = 'bottom';
    for (let i = 0; i < 5_000; i++) deep = [deep];
    const s = await open(() => ({ model: 'scripted', stopReason: 'tool_use', usage, content: [{ type: 'tool_use', id: 'a', name: 'finish', input: { output: deep } }] }));
    const agent = await s.spawn({ role: 'r', task: 't', budget: 50_000 });
    expect((await agent.run()).status).toBe('failed');
    await chargedItsReservation(s, agent.id, new RegExp(`must nest at most ${MAX_TOOL_INPUT_DEPTH} levels deep`));
  }, 60_000);

  it('an input exactly as deep as allowed is taken as it is', async () => {
    let deep: unknown = 'x';
    for (let i = 0; i < MAX_TOOL_INPUT_DEPTH - 1; i++) deep = [deep];
    const s = await open((_r, i) => (i === 0
      ? { model: 'scripted', stopReason: 'tool_use', usage: { ...usage, inputTokens: 10 }, content: [{ type: 'tool_use', id: 'a', name: 'send_message', input: { to: 'nobody', payload: deep } }] }
      : { model: 'scripted', stopReason: 'tool_use', usage: { ...usage, inputTokens: 10 }, content: [{ type: 'tool_use', id: 'b', name: 'finish', input: { output: 'ok' } }] }));
    const agent = await s.spawn({ role: 'r', task: 't', budget: 50_000 });
    expect((await agent.run()).status).toBe('completed');
  }, 60_000);

  it('two tool call ids made alike on the way to the store fail the call, charged its reservation, rather than leave one unanswered (one write was lost)', async () => {
    // By redaction (each a key-shaped secret), and by the replacement of unstorable characters.
    for (const [a, b] of [['sk-ant-aaaaaaaaaaaa', 'sk-ant-bbbbbbbbbbbb'], ['x\ud800', 'x\ud801']]) {
      const s = await open(() => ({ model: 'scripted', stopReason: 'tool_use', usage: { ...usage, inputTokens: 10 }, content: [
        { type: 'tool_use', id: a!, name: 'nosuch', input: {} },
        { type: 'tool_use', id: b!, name: 'nosuch', input: {} },
      ] }));
      const agent = await s.spawn({ role: 'r', task: 't', budget: 50_000 });
      expect((await agent.run()).status).toBe('failed');
      await chargedItsReservation(s, agent.id, /tool_use ids must be unique within a reply once secrets are redacted and unstorable characters replaced/);
      await s.close();
      system = undefined;
    }
  }, 60_000);

  it('an id, a tool name or a model name longer than 256 characters (a 1.9 MB id was stored for 1 token): charged its reservation', async () => {
    const long = 'i'.repeat(257);
    for (const [reply, field] of [
      [{ content: [{ type: 'tool_use' as const, id: long, name: 'finish', input: { output: 'x' } }] }, /reply\.content\[0\]\.id: must be at most 256 characters/],
      [{ content: [{ type: 'tool_use' as const, id: 'a', name: long, input: {} }] }, /reply\.content\[0\]\.name: must be at most 256 characters/],
      [{ model: long, content: [{ type: 'text' as const, text: 'hi' }] }, /reply\.model: must be at most 256 characters/],
    ] as const) {
      const s = await open(() => ({ model: 'scripted', stopReason: 'tool_use', usage: { ...usage, inputTokens: 10 }, ...reply }));
      const agent = await s.spawn({ role: 'r', task: 't', budget: 50_000 });
      expect((await agent.run()).status).toBe('failed');
      await chargedItsReservation(s, agent.id, field);
      await s.close();
      system = undefined;
    }
  }, 60_000);

  it('a tool call with no input (taken, it was stored without the key and the agent could not be read back or recovered): charged its reservation', async () => {
    const s = await open(() => ({ model: 'scripted', stopReason: 'tool_use', usage: { ...usage, inputTokens: 10 }, content: [{ type: 'tool_use', id: 'x', name: 'finish' } as unknown as ModelReply['content'][number]] }));
    const agent = await s.spawn({ role: 'r', task: 't', budget: 50_000 });
    expect((await agent.run()).status).toBe('failed');
    await chargedItsReservation(s, agent.id, /reply\.content\[0\]\.input: is required/);
    await s.reports.waitFor(await s.store.headPosition());
    expect(await s.reports.budget(agent.id)).toMatchObject({ reserved: 0, overspent: 0 });
  }, 60_000);

  it('a tool call whose input is null, a string or an array (the model read "invalid input" for 20 turns, each request echoing it back): charged its reservation', async () => {
    for (const input of [null, '{"output":"x"}', [1, 2]]) {
      const s = await open(() => ({ model: 'scripted', stopReason: 'tool_use', usage: { ...usage, inputTokens: 10 }, content: [{ type: 'tool_use', id: 'x', name: 'finish', input }] }));
      const agent = await s.spawn({ role: 'r', task: 't', budget: 50_000 });
      expect((await agent.run()).status).toBe('failed');
      await chargedItsReservation(s, agent.id, /reply\.content\[0\]\.input: must be an object/);
      await s.close();
      system = undefined;
    }
  }, 60_000);

  it('a reply reporting 0 input tokens, for any request, is charged its reservation: 0 a call grew 364 agents from 12,000 tokens', async () => {
    const s = await open(() => ({ model: 'scripted', stopReason: 'tool_use', usage: { inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheCreationTokens: 0 }, content: [{ type: 'tool_use', id: 'f', name: 'finish', input: { output: 'x' } }] }));
    const agent = await s.spawn({ role: 'r', task: 'small', budget: 50_000 });
    expect((await agent.run()).status).toBe('failed');
    await chargedItsReservation(s, agent.id, /usage cannot be true: the reply reports 0 input tokens, cache included/);
    await s.close();
    system = undefined;
  }, 60_000);

  it('a large request whose reply reports too few input tokens for it (6 MB read for 0 tokens) is charged its reservation', async () => {
    const page = 'word '.repeat(8_000); // 40 kB
    // The task alone makes the request 40 kB: at 64 bytes a token at most, it cannot have been read for 10 tokens.
    const s = await open(() => ({ model: 'scripted', stopReason: 'tool_use', usage: { ...usage, inputTokens: 10 }, content: [{ type: 'tool_use', id: 'f', name: 'finish', input: { output: 'x' } }] }));
    const agent = await s.spawn({ role: 'r', task: `Read this: ${page}`, budget: 200_000 });
    expect((await agent.run()).status).toBe('failed');
    await chargedItsReservation(s, agent.id, /usage cannot be true: the request held [\d,]+ bytes but the reply reports 10 input tokens, cache included/);
    await s.close();
    // Read for 1,000 tokens (40 bytes a token): taken.
    const honest = await open(() => ({ model: 'scripted', stopReason: 'tool_use', usage: { ...usage, inputTokens: 1_000 }, content: [{ type: 'tool_use', id: 'f', name: 'finish', input: { output: 'x' } }] }));
    expect((await (await honest.spawn({ role: 'r', task: `Read this: ${page}`, budget: 200_000 })).run()).status).toBe('completed');
  }, 60_000);

  it("a workflow's planning call answered unusably is charged its reservation too, not released", async () => {
    const s = await open(() => ({ model: 'scripted', stopReason: 'tool_use', usage, content: Array.from({ length: 200 }, (_, i) => ({ type: 'tool_use' as const, id: `p${i}`, name: 'plan', input: {} })) }));
    const err = await s.decompose('Build a parser', { budget: 50_000, attempts: 1 }).catch((e: unknown) => e);
    expect(String(err)).toMatch(/must make at most 100 tool calls/);
    const ids = (await s.store.readAll({ limit: 1_000 })).filter((e) => e.type === 'AgentSpawned').map((e) => (e.data as { agentId: string }).agentId);
    expect(ids).toHaveLength(1);
    // Named with the workflow it failed, and how (the provider's own error named neither, a trial's).
    expect(err).toBeInstanceOf(PlanningFailed);
    expect(err).toMatchObject({ workflowId: ids[0], failure: 'model_error' });
    expect(String(err)).toContain(`workflow ${ids[0]} failed while planning (model_error): `);
    const history = await s.history(ids[0]!);
    const reserved = history.find((e) => e.type === 'BudgetReserved')!.data as { amount: number };
    expect(history.map((e) => e.type)).toEqual(['AgentSpawned', 'BudgetReserved', 'BudgetSettled', 'AgentFailed']);
    expect(history[2]!.data).toMatchObject({ consumed: reserved.amount });
    expect((await s.get(ids[0]!).state()).budget).toMatchObject({ consumed: reserved.amount, reserved: 0 });
  }, 60_000);

  it('is priced as the model asked for, whatever model the reply names', async () => {
    const s = await open(() => ({ model: 'totally-free-model', stopReason: 'tool_use', usage: { ...usage, inputTokens: 100, outputTokens: 1_000 }, content: [{ type: 'tool_use', id: 'a', name: 'finish', input: { output: 'ok' } }] }));
    const agent = await s.spawn({ role: 'r', task: 't', budget: 50_000, model: 'claude-sonnet-4-5' });
    expect((await agent.run()).status).toBe('completed');
    // Sonnet 4: $3 per million input tokens, $15 per million output.
    expect((await agent.state()).costUsd).toBeCloseTo(100 * 3e-6 + 1_000 * 15e-6, 9);
  }, 60_000);
});
