import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { ModelReply, ModelRequest } from '../../src/actors/ports/modelProvider.js';
import { tool, type ToolRunContext } from '../../src/actors/userTool.js';
import { createScriptedProvider } from '../../src/infra/model/scriptedProvider.js';
import { freshSchema } from '../support/testDb.js';
import { startFakeMessagesApi } from '../support/fakeMessagesApi.js';
import { testSystem, type StoreKind } from '../support/system.js';

/**
 * User tools, instructions and typed output through the public API, with a scripted model that
 * calls them as Claude would: what the model is shown, what the tool is given, what is recorded,
 * and what a crash or a process without the tool does to a call.
 */
const usage = { inputTokens: 10, outputTokens: 10, cacheReadTokens: 0, cacheCreationTokens: 0 };
const reply = (content: ModelReply['content']): ModelReply => ({ model: 'scripted', content, stopReason: 'tool_use', usage });
const call = (id: string, name: string, input: unknown): ModelReply => reply([{ type: 'tool_use', id, name, input }]);
/** What the last tool results said, for a script that reacts to them. */
const lastResults = (r: ModelRequest): Array<{ content: string; isError?: boolean }> =>
  (r.messages[r.messages.length - 1]?.content ?? []).flatMap((b) => (b.type === 'tool_result' ? [{ content: b.content, isError: b.isError }] : []));

function weatherTool(calls: Array<{ input: unknown; ctx: ToolRunContext }>) {
  return tool({
    name: 'get_weather',
    description: 'The weather in a city today.',
    input: z.object({ city: z.string().min(1), unit: z.enum(['C', 'F']).default('C') }),
    run: async (input, ctx) => {
      calls.push({ input, ctx });
      return { city: input.city, temperature: 21, unit: input.unit };
    },
  });
}

describe.each<StoreKind>(['pglite', 'postgres'])('user tools (%s)', (kind) => {
  it('are shown with their JSON Schema, validated, run with a context, recorded, and inherited by children', { timeout: 60_000 }, async () => {
    const calls: Array<{ input: unknown; ctx: ToolRunContext }> = [];
    const requests: ModelRequest[] = [];
    const model = createScriptedProvider((r) => {
      requests.push(r);
      if (r.agent?.role === 'helper') return call('toolu_h1', 'finish', { output: 'helped' });
      const results = lastResults(r);
      if (r.messages.length === 1) return call('toolu_bad', 'get_weather', { city: '' });
      if (results[0]?.isError) return call('toolu_ok', 'get_weather', { city: 'Lisbon' });
      if (results[0]?.content.includes('Lisbon')) return call('toolu_spawn', 'spawn_agent', { role: 'helper', task: 'help', budget: 5000 });
      return call('toolu_fin', 'finish', { output: 'sunny' });
    });
    const system = await testSystem(kind, { model, tools: [weatherTool(calls)] });
    try {
      const agent = await system.spawn({ role: 'forecaster', task: 'Weather in Lisbon?', budget: 100_000, instructions: 'Answer in one word.' });
      const result = await agent.run();
      expect(result).toMatchObject({ status: 'completed', output: 'sunny' });

      const first = requests[0]!;
      const shown = first.tools.find((t) => t.name === 'get_weather');
      expect(shown?.description).toBe('The weather in a city today.');
      expect(shown?.inputSchema).toMatchObject({ type: 'object', properties: { city: { type: 'string', minLength: 1 }, unit: { enum: ['C', 'F'] } }, required: ['city'] });
      expect(first.tools.map((t) => t.name).at(-1)).toBe('finish');
      expect(first.system).toContain('Answer in one word.');

      // The invalid call never reached the tool; the valid one did, once, with its context.
      expect(calls).toHaveLength(1);
      expect(calls[0]!.input).toEqual({ city: 'Lisbon', unit: 'C' });
      const ctx = calls[0]!.ctx;
      expect(ctx).toMatchObject({ agentId: agent.id, callId: 'toolu_ok', workspacePath: null });
      expect(ctx.idempotencyKey).toMatch(/^[0-9a-f-]{36}$/);
      expect(ctx.signal.aborted).toBe(false);

      const history = await system.history(agent.id);
      const returned = history.filter((e) => e.type === 'ToolReturned').map((e) => e.data as { toolUseId: string; output: string; isError: boolean });
      expect(returned.find((r) => r.toolUseId === 'toolu_bad')).toMatchObject({ isError: true, output: expect.stringContaining('city') });
      expect(returned.find((r) => r.toolUseId === 'toolu_ok')).toMatchObject({ isError: false, output: JSON.stringify({ city: 'Lisbon', temperature: 21, unit: 'C' }) });
      const spawned = history.find((e) => e.type === 'AgentSpawned')!.data as { tools?: string[]; instructions?: string };
      expect(spawned).toMatchObject({ tools: ['get_weather'], instructions: 'Answer in one word.' });

      // The helper the model spawned may call it too, and was not given the parent's instructions.
      const helperRequest = requests.find((r) => r.agent?.role === 'helper')!;
      expect(helperRequest.tools.map((t) => t.name)).toContain('get_weather');
      expect(helperRequest.system).not.toContain('Answer in one word.');
    } finally {
      await system.close();
    }
  });

  it('finishes with a typed, validated answer: one retry with the problems, then failed', { timeout: 60_000 }, async () => {
    const Verdict = z.object({ approved: z.boolean(), score: z.number().int().min(0).max(10), notes: z.array(z.string()).default([]) });
    const answers: unknown[] = [{ approved: 'yes', score: 11 }, { approved: true, score: 8 }];
    const model = createScriptedProvider((r) => call(`toolu_${r.messages.length}`, 'finish', { output: answers[Math.min(lastResults(r).length > 0 ? 1 : 0, 1)] }));
    const system = await testSystem(kind, { model });
    try {
      const reviewer = await system.spawn({ role: 'reviewer', task: 'Review it.', budget: 50_000, output: Verdict });
      const result = await reviewer.run();
      expect(result.status).toBe('completed');
      // Typed by the schema: result.output is { approved: boolean; score: number; notes: string[] } | null.
      const verdict: z.output<typeof Verdict> | null = result.output;
      expect(verdict).toEqual({ approved: true, score: 8, notes: [] });
      const history = await system.history(reviewer.id);
      const rejected = history.find((e) => e.type === 'ToolReturned')!.data as { output: string; isError: boolean };
      expect(rejected.isError).toBe(true);
      expect(rejected.output).toContain('output.approved');
      expect(rejected.output).toContain('output.score');
      const spawned = history[0]!.data as { output?: Record<string, unknown> };
      expect(spawned.output).toMatchObject({ type: 'object', required: expect.arrayContaining(['approved', 'score']) });
      // Another process's handle reads the stored JSON text, or the value when given the schema.
      expect((await system.get(reviewer.id).run()).output).toBe(JSON.stringify({ approved: true, score: 8, notes: [] }));
      expect((await system.get(reviewer.id, { output: Verdict }).run()).output).toEqual(verdict);

      const stubborn = await system.spawn({
        role: 'reviewer',
        task: 'Review it.',
        budget: 50_000,
        output: Verdict,
      });
      answers[1] = { approved: 'still no' };
      const failed = await stubborn.run();
      expect(failed).toMatchObject({ status: 'failed', output: null });
      expect(failed.reason).toMatch(/did not match the output schema twice: .*output\.approved/);
      const end = (await system.history(stubborn.id)).at(-1)!;
      expect(end).toMatchObject({ type: 'AgentFailed', data: { cause: 'invalid_output' } });
    } finally {
      await system.close();
    }
  });
});

describe('registering tools', () => {
  it('refuses what cannot be a tool, naming the field', async () => {
    expect(() => tool({ name: 'bad name', description: 'x', input: z.object({}), run: () => 'x' })).toThrow(/tool\.name/);
    expect(() => tool({ name: 'ok', description: '', input: z.object({}), run: () => 'x' })).toThrow(/tool\.description/);
    expect(() => tool({ name: 'ok', description: 'x', input: {} as z.ZodType, run: () => 'x' })).toThrow(/tool\.input/);
    const a = tool({ name: 'lookup', description: 'a', input: z.object({}), run: () => 'a' });
    const b = tool({ name: 'lookup', description: 'b', input: z.object({}), run: () => 'b' });
    await expect(testSystem('pglite', { tools: [a, b] })).rejects.toThrow(/tools\[1\]\.name: another tool named lookup/);
    await expect(testSystem('pglite', { tools: [tool({ name: 'finish', description: 'x', input: z.object({}), run: () => 'x' })] })).rejects.toThrow(/built-in/);
    const system = await testSystem('pglite', { tools: [a] });
    try {
      await expect(system.spawn({ role: 'r', task: 't', budget: 1000, tools: ['nope'] })).rejects.toThrow(/spawn\.tools\[0\].*no tool named nope/);
      await expect(system.spawn({ role: 'r', task: 't', budget: 1000, tools: [b] })).rejects.toThrow(/another tool named lookup/);
      const own = await system.spawn({ role: 'r', task: 't', budget: 1000, tools: [] });
      expect((await system.history(own.id))[0]!.data).not.toHaveProperty('tools');
    } finally {
      await system.close();
    }
  });
});

describe('a user tool across processes (postgres)', () => {
  it('a crash between the call and its result runs it again with the same idempotency key and records one result; a tool that ignores the abort does not hold close() up', { timeout: 60_000 }, async () => {
    const schema = freshSchema('ut');
    const keys: string[] = [];
    let release: () => void = () => {};
    const started = new Promise<void>((r) => (release = r));
    let abortSeen = false;
    const charge = (hang: boolean) =>
      tool({
        name: 'charge_card',
        description: 'Charges a card.',
        input: z.object({ cents: z.number().int().positive() }),
        run: async ({ cents }, ctx) => {
          keys.push(ctx.idempotencyKey);
          if (hang) {
            release();
            // The process "dies" mid-call, and the tool ignores the abort: it never settles.
            ctx.signal.addEventListener('abort', () => (abortSeen = true));
            await new Promise(() => {});
          }
          return `charged ${cents} cents (key ${ctx.idempotencyKey})`;
        },
      });
    const model = () => createScriptedProvider((r) => (r.messages.length === 1 ? call('toolu_charge', 'charge_card', { cents: 500 }) : call('toolu_done', 'finish', { output: 'paid' })));
    const first = await testSystem('postgres', { schema, model: model(), tools: [charge(true)] });
    const agent = await first.spawn({ role: 'cashier', task: 'Charge it.', budget: 50_000 });
    void first.run(agent.id).catch(() => {});
    await started;
    // close() aborts the tool, waits its grace (closeDrainMs, 5 s) and goes on without it.
    const closing = performance.now();
    await first.close();
    expect(performance.now() - closing).toBeLessThan(15_000);
    expect(abortSeen).toBe(true);

    const second = await testSystem('postgres', { schema, model: model(), tools: [charge(false)] });
    try {
      const result = await second.run(agent.id);
      expect(result).toMatchObject({ status: 'completed', output: 'paid' });
      expect(keys).toHaveLength(2);
      expect(keys[1]).toBe(keys[0]);
      const returned = (await second.history(agent.id)).filter((e) => e.type === 'ToolReturned' && (e.data as { toolUseId: string }).toolUseId === 'toolu_charge');
      expect(returned).toHaveLength(1);
      expect((returned[0]!.data as { output: string }).output).toBe(`charged 500 cents (key ${keys[0]})`);
    } finally {
      await second.close();
    }
  });

  it('a worker without the tool leaves the agent to a worker that has it', { timeout: 60_000 }, async () => {
    const schema = freshSchema('ut');
    const ranBy: string[] = [];
    const lookup = (who: string) => tool({ name: 'lookup', description: 'Looks it up.', input: z.object({}), run: () => (ranBy.push(who), `found by ${who}`) });
    const model = () => createScriptedProvider((r) => (r.messages.length === 1 ? call('toolu_l', 'lookup', {}) : call('toolu_done', 'finish', { output: 'done' })));
    const client = await testSystem('postgres', { schema, model: model(), tools: [lookup('client')], worker: { owner: 'client', capacity: 0 } });
    const lacking = await testSystem('postgres', { schema, model: model(), worker: { owner: 'lacking', tickMs: 100 } });
    let having: Awaited<ReturnType<typeof testSystem>> | null = null;
    try {
      const agent = await client.spawn({ role: 'seeker', task: 'Find it.', budget: 50_000 });
      await client.internal.runtime.requestRun(agent.id);
      // The lacking worker sees it free, takes it, finds a tool missing and lets it go, again and again.
      await new Promise((r) => setTimeout(r, 600));
      expect((await client.history(agent.id)).some((e) => e.type === 'ModelRequested')).toBe(false);
      having = await testSystem('postgres', { schema, model: model(), tools: [lookup('having')], worker: { owner: 'having', tickMs: 100 } });
      const result = await client.internal.runtime.waitForEnd(agent.id);
      expect(result).toMatchObject({ status: 'completed', output: 'done' });
      expect(ranBy).toEqual(['having']);
    } finally {
      await having?.close();
      await lacking.close();
      await client.close();
    }
  });

  it('a process without the tool leaves the agent alone; after the timeout it fails, naming the tool', { timeout: 60_000 }, async () => {
    const schema = freshSchema('ut');
    const secret = tool({ name: 'secret_lookup', description: 'Looks a secret up.', input: z.object({}), run: () => 'the secret' });
    const model = createScriptedProvider((r) => (r.messages.length === 1 ? call('toolu_s', 'secret_lookup', {}) : call('toolu_done', 'finish', { output: 'found' })));
    const first = await testSystem('postgres', { schema, model, tools: [secret] });
    const agent = await first.spawn({ role: 'seeker', task: 'Find it.', budget: 50_000 });
    await first.close(); // spawned, never run: whoever recovers it must have secret_lookup

    const lacking = await testSystem('postgres', { schema, model, missingToolTimeoutMs: 1500 });
    try {
      const started = Date.now();
      const result = await lacking.run(agent.id);
      expect(result.status).toBe('failed');
      expect(result.reason).toMatch(/no process on this store has the tool secret_lookup registered/);
      expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
      const history = await lacking.history(agent.id);
      expect(history.some((e) => e.type === 'ModelRequested' || e.type === 'ToolReturned')).toBe(false);
      expect(history.at(-1)).toMatchObject({ type: 'AgentFailed', data: { cause: 'tool_unavailable' } });
    } finally {
      await lacking.close();
    }
  });
});

describe('user tools and a structured answer through the real SDK (local Messages API)', () => {
  it('sends the tool and the output schema, runs the tool_use, and parses the answer', { timeout: 60_000 }, async () => {
    const api = await startFakeMessagesApi();
    const calls: Array<{ input: unknown; ctx: ToolRunContext }> = [];
    api.enqueue(
      { kind: 'message', message: { content: [{ type: 'tool_use', id: 'toolu_w', name: 'get_weather', input: { city: 'Porto', unit: 'F' } }] } },
      { kind: 'message', message: { content: [{ type: 'tool_use', id: 'toolu_f', name: 'finish', input: { output: { city: 'Porto', warm: true } } }] } },
    );
    const system = await testSystem('postgres', { model: { provider: 'anthropic', apiKey: 'sk-test', baseURL: api.url, maxRetries: 0 }, tools: [weatherTool(calls)] });
    try {
      const agent = await system.spawn({ role: 'forecaster', task: 'Warm in Porto?', budget: 50_000, output: z.object({ city: z.string(), warm: z.boolean() }) });
      const result = await agent.run();
      expect(result).toMatchObject({ status: 'completed', output: { city: 'Porto', warm: true } });
      expect(calls.map((c) => c.input)).toEqual([{ city: 'Porto', unit: 'F' }]);
      const [first, second] = api.messageRequests().map((r) => r.body as { tools: Array<{ name: string; input_schema: Record<string, unknown> }>; messages: Array<{ content: unknown }> });
      expect(first!.tools.find((t) => t.name === 'get_weather')?.input_schema).toMatchObject({ properties: { city: { type: 'string' } } });
      expect(first!.tools.find((t) => t.name === 'finish')?.input_schema).toMatchObject({ properties: { output: { type: 'object', required: ['city', 'warm'] } } });
      expect(JSON.stringify(second!.messages.at(-1)!.content)).toMatch(/tool_use_id.*toolu_w.*temperature.*21/);
    } finally {
      await system.close();
      await api.close();
    }
  });
});
