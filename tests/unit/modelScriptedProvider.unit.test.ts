import { describe, expect, it } from 'vitest';
import type { ModelReply, ModelRequest } from '../../src/actors/ports/modelProvider.js';
import { Aborted, InvalidInput, ModelError } from '../../src/errors.js';
import { createModelProvider } from '../../src/infra/model/createModelProvider.js';
import { estimateInputTokens } from '../../src/infra/model/estimateInputTokens.js';
import { createScriptedProvider } from '../../src/infra/model/scriptedProvider.js';

const request: ModelRequest = { system: 'sys', messages: [{ role: 'user', content: [{ type: 'text', text: 'hi' }] }], tools: [], maxTokens: 100 };
const text = (t: string): ModelReply => ({
  model: 'scripted',
  content: [{ type: 'text', text: t }],
  stopReason: 'end_turn',
  usage: { inputTokens: 1, outputTokens: 1, cacheReadTokens: 0, cacheCreationTokens: 0 },
});

describe('scripted provider', () => {
  it('replies from a list in order, records requests, and fails loudly when the list runs out', async () => {
    const model = createScriptedProvider([text('one'), text('two')]);
    expect(model).toMatchObject({ name: 'scripted', isLLM: false });
    expect((await model.complete(request)).content).toEqual([{ type: 'text', text: 'one' }]);
    expect((await model.complete({ ...request, maxTokens: 5 })).content).toEqual([{ type: 'text', text: 'two' }]);
    await expect(model.complete(request)).rejects.toThrow(/no reply for call #3/);
    expect(model.requests.map((r) => r.maxTokens)).toEqual([100, 5, 100]);
  });

  it('replies from a function of the request and call index', async () => {
    const model = createScriptedProvider(async (req, i) => text(`${i}:${req.system}`));
    expect((await model.complete(request)).content).toEqual([{ type: 'text', text: '0:sys' }]);
    expect((await model.complete(request)).content).toEqual([{ type: 'text', text: '1:sys' }]);
  });

  it('rejects a malformed scripted reply as a ModelError naming the field', async () => {
    const model = createScriptedProvider(() => ({ ...text('x'), stopReason: 'done' }) as unknown as ModelReply);
    const error = await model.complete(request).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ModelError);
    expect((error as Error).message).toContain('script[0].stopReason');
  });

  it('honours an aborted signal', async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(createScriptedProvider([text('x')]).complete(request, { signal: controller.signal })).rejects.toBeInstanceOf(Aborted);
  });
});

describe('estimateInputTokens', () => {
  it('is chars / 3 rounded up plus 16 per message', () => {
    const chars = 'sys'.length + JSON.stringify(request.messages).length + JSON.stringify([]).length;
    expect(estimateInputTokens(request)).toBe(Math.ceil(chars / 3) + 16);
    expect(estimateInputTokens(request, 500)).toBe(Math.ceil(chars / 3) + 16 + 500);
  });
});

describe('createModelProvider', () => {
  it('builds each provider from its config', async () => {
    expect(createModelProvider({ provider: 'offline', latencyMs: 0 })).toMatchObject({ name: 'offline', isLLM: false });
    expect(createModelProvider({ provider: 'anthropic', apiKey: 'sk-test', model: 'claude-haiku-4-5' })).toMatchObject({
      name: 'anthropic', isLLM: true, defaultModel: 'claude-haiku-4-5',
    });
    const scripted = createModelProvider({ provider: 'scripted', replies: [text('a')] });
    expect((await scripted.complete(request)).content).toEqual([{ type: 'text', text: 'a' }]);
    expect(createModelProvider({ provider: 'scripted', replies: () => text('f') }).name).toBe('scripted');
  });

  it('names the bad field', () => {
    const fails = (config: unknown, pattern: RegExp) => {
      const error = (() => {
        try {
          createModelProvider(config as never);
        } catch (e) {
          return e;
        }
        return undefined;
      })();
      expect(error).toBeInstanceOf(InvalidInput);
      expect((error as InvalidInput).field).toMatch(pattern);
    };
    fails({ provider: 'anthropic' }, /^model\.apiKey$/);
    fails({ provider: 'anthropic', apiKey: '' }, /^model\.apiKey$/);
    fails({ provider: 'anthropic', apiKey: 'k', baseURL: 'not a url' }, /^model\.baseURL$/);
    fails({ provider: 'offline', latencyMs: -1 }, /^model\.latencyMs$/);
    fails({ provider: 'offline', usage: { input: 1 } }, /^model\.usage\.output$/);
    fails({ provider: 'scripted', replies: [{ model: 'x' }] }, /^model\.replies/);
    fails({ provider: 'openai' }, /^model\.provider$/);
    fails({ provider: 'offline', latency: 5 }, /^model$/);
  });

  it('says what is missing for anthropic', () => {
    expect(() => createModelProvider({ provider: 'anthropic' } as never)).toThrow(/ANTHROPIC_API_KEY/);
  });
});
