import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ModelMessage, ModelReply, ModelRequest, ModelToolSpec } from '../../src/actors/ports/modelProvider.js';
import { Aborted, InvalidInput, ModelError } from '../../src/errors.js';
import { buildDecompositionRequest, parsePlanToolInput } from '../../src/infra/model/decompositionRequest.js';
import { estimateInputTokens } from '../../src/infra/model/estimateInputTokens.js';
import { OFFLINE_MODEL, createOfflineProvider } from '../../src/infra/model/offlineProvider.js';

const tool = (name: string): ModelToolSpec => ({ name, description: name, inputSchema: { type: 'object' } });
const loopTools = ['read_file', 'write_file', 'list_files', 'search_files', 'run_command', 'spawn_agent', 'send_message', 'receive_messages', 'finish'].map(tool);

const firstTurn = (overrides: Partial<ModelRequest> = {}): ModelRequest => ({
  system: 'You are a cadre agent.',
  messages: [{ role: 'user', content: [{ type: 'text', text: 'Task: Implement the login endpoint\n\nUpstream output from architect-1:\nUse JWT.' }] }],
  tools: loopTools,
  maxTokens: 2048,
  agent: { id: 'agent-7', role: 'implementer', task: 'Implement the login endpoint', hasWorkspace: true },
  ...overrides,
});

/** Appends the reply and a tool_result for each of its tool calls, as the agent loop would. */
function continueWith(request: ModelRequest, reply: ModelReply, result = 'ok', isError = false): ModelRequest {
  const calls = reply.content.filter((b) => b.type === 'tool_use');
  const messages: ModelMessage[] = [
    ...request.messages,
    { role: 'assistant', content: reply.content },
    { role: 'user', content: calls.map((c) => ({ type: 'tool_result' as const, toolUseId: c.id, content: result, isError })) },
  ];
  return { ...request, messages };
}

describe('offline provider', () => {
  const model = createOfflineProvider();

  it('identifies itself as not an LLM', () => {
    expect(model).toMatchObject({ name: 'offline', isLLM: false, defaultModel: OFFLINE_MODEL });
  });

  it('with a workspace: writes a note first, then finishes', async () => {
    const request = firstTurn();
    const first = await model.complete(request);
    expect(first.stopReason).toBe('tool_use');
    expect(first.model).toBe(OFFLINE_MODEL);
    const [write] = first.content;
    expect(write).toMatchObject({ type: 'tool_use', id: 'toolu_offline_1', name: 'write_file' });
    const input = (write as { input: { path: string; content: string } }).input;
    expect(input.path).toBe('implementer/implement-the-login-endpoint.md');
    expect(input.content).toContain('not an LLM');
    expect(input.content).toContain('Role: implementer');
    expect(input.content).toContain('Implement the login endpoint');
    expect(input.content).toContain('> Use JWT.');

    const second = await model.complete(continueWith(request, first));
    expect(second.stopReason).toBe('tool_use');
    expect(second.content).toEqual([
      {
        type: 'tool_use',
        id: 'toolu_offline_3',
        name: 'finish',
        input: { output: '[offline rule-based model, not an LLM] implementer finished "Implement the login endpoint"; notes in implementer/implement-the-login-endpoint.md.' },
      },
    ]);
  });

  it('reports a failed write in its summary instead of trying again', async () => {
    const request = firstTurn();
    const first = await model.complete(request);
    const second = await model.complete(continueWith(request, first, 'disk full', true));
    expect(second.content[0]).toMatchObject({ name: 'finish' });
    expect(JSON.stringify(second.content)).toContain('failed: disk full');
  });

  it('without a workspace: finishes directly', async () => {
    const reply = await model.complete(firstTurn({ agent: { id: 'a', role: 'reviewer', task: 'Review the PR', hasWorkspace: false } }));
    expect(reply.content).toEqual([
      { type: 'tool_use', id: 'toolu_offline_1', name: 'finish', input: { output: '[offline rule-based model, not an LLM] reviewer finished "Review the PR".' } },
    ]);
  });

  it('without a finish tool: answers in text', async () => {
    const reply = await model.complete(firstTurn({ tools: [], agent: { id: 'a', role: 'tester', task: 'Test it', hasWorkspace: true } }));
    expect(reply.stopReason).toBe('end_turn');
    expect(reply.content).toEqual([{ type: 'text', text: '[offline rule-based model, not an LLM] tester finished "Test it".' }]);
  });

  it("quotes only its task's first paragraph, not a workflow node's upstream outputs (each output held every upstream one)", async () => {
    const task = 'Review the change.\n\nWorkflow task: Ship it\n\nInputs from the nodes this one depends on:\n--- design (architect, completed) ---\nthe design text';
    const reply = await model.complete(firstTurn({ tools: [], agent: { id: 'a', role: 'reviewer', task, hasWorkspace: true } }));
    expect(reply.content).toEqual([{ type: 'text', text: '[offline rule-based model, not an LLM] reviewer finished "Review the change.".' }]);
    const long = await model.complete(firstTurn({ tools: [], agent: { id: 'a', role: 'r', task: 'x'.repeat(500), hasWorkspace: true } }));
    expect(long.content).toEqual([{ type: 'text', text: `[offline rule-based model, not an LLM] r finished "${'x'.repeat(159)}…".` }]);
  });

  it("a workflow node's note quotes its own task and a digest of each upstream output, not the outputs whole", async () => {
    const design = `Design line one.\n${'the design text goes on. '.repeat(200).trim()}`;
    const text = `Review the change.\n\nWorkflow task: Ship it\n\nInputs from the nodes this one depends on:\n--- design (architect, completed) ---\n${design}\n--- tests (tester, failed, partial result) ---\n(no output)`;
    const reply = await model.complete(firstTurn({ messages: [{ role: 'user', content: [{ type: 'text', text }] }] }));
    const note = (reply.content[0] as { input: { content: string } }).input.content;
    expect(note).toContain('> Review the change.');
    expect(note).toContain('> Workflow task: Ship it');
    expect(note).toContain('> --- design (architect, completed) ---');
    expect(note).toContain(`> Design line one. (${design.length} characters)`);
    expect(note).toContain('> --- tests (tester, failed, partial result) ---\n> (no output)');
    expect(note).not.toContain('the design text goes on');
    expect(note.length).toBeLessThan(1_000);
  });

  it('answers a forced submit_plan with a valid plan for the allowed roles', async () => {
    const roles = ['architect', 'implementer', 'tester'];
    const request = buildDecompositionRequest({ task: 'Design the schema, then build the API and write tests for the API.', roles, maxTokens: 4096 });
    const reply = await model.complete(request);
    expect(reply.stopReason).toBe('tool_use');
    const call = reply.content[0] as { name: string; input: unknown };
    expect(call.name).toBe('submit_plan');
    const plan = parsePlanToolInput(call.input, { roles });
    expect(plan.nodes.map((n) => n.role)).toEqual(['architect', 'implementer', 'tester']);
  });

  it('refuses a forced tool it has no rule for', async () => {
    await expect(model.complete(firstTurn({ toolChoice: { type: 'tool', name: 'run_command' } }))).rejects.toBeInstanceOf(ModelError);
  });

  it('is deterministic: the same request gives an identical reply', async () => {
    const request = firstTurn();
    const a = await model.complete(request);
    const b = await createOfflineProvider().complete(structuredClone(request));
    expect(b).toEqual(a);
  });

  it('counts usage from the request and reply unless a fixed usage is configured', async () => {
    const request = firstTurn();
    const reply = await model.complete(request);
    expect(reply.usage).toEqual({
      inputTokens: estimateInputTokens(request),
      outputTokens: Math.ceil(JSON.stringify(reply.content).length / 4),
      cacheReadTokens: 0,
      cacheCreationTokens: 0,
    });
    const fixed = await createOfflineProvider({ usage: { input: 100, output: 50 } }).complete(request);
    expect(fixed.usage).toEqual({ inputTokens: 100, outputTokens: 50, cacheReadTokens: 0, cacheCreationTokens: 0 });
    const capped = await createOfflineProvider({ usage: { input: 100, output: 5000 } }).complete({ ...request, maxTokens: 64 });
    expect(capped.usage.outputTokens).toBe(64);
  });

  it('never reports more output tokens than maxTokens, and shortens its content to fit', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 3000 }),
        fc.string({ maxLength: 400 }),
        fc.boolean(),
        fc.integer({ min: 0, max: 2 }),
        async (maxTokens, task, hasWorkspace, turn) => {
          let request = firstTurn({ maxTokens, agent: { id: 'p', role: 'implementer', task, hasWorkspace } });
          for (let i = 0; i < turn; i++) request = continueWith(request, await model.complete(request));
          const reply = await model.complete(request);
          expect(reply.usage.outputTokens).toBeLessThanOrEqual(maxTokens);
          expect(Math.ceil(JSON.stringify(reply.content).length / 4)).toBeLessThanOrEqual(maxTokens);
          if (reply.stopReason === 'tool_use') expect(reply.content[0]?.type).toBe('tool_use');
        },
      ),
      { numRuns: 150 },
    );
  });

  it('cuts to a max_tokens stop when not even a short tool call fits', async () => {
    const reply = await model.complete(firstTurn({ maxTokens: 12 }));
    expect(reply.stopReason).toBe('max_tokens');
    expect(reply.usage.outputTokens).toBeLessThanOrEqual(12);
  });

  describe('latency', () => {
    afterEach(() => void vi.useRealTimers());

    it('waits latencyMs (on fake timers: answers at 200 ms, not before)', async () => {
      vi.useFakeTimers();
      const slow = createOfflineProvider({ latencyMs: 200 });
      let answered = false;
      const reply = slow.complete(firstTurn({ maxTokens: 100 })).then((r) => ((answered = true), r));
      await vi.advanceTimersByTimeAsync(199);
      expect(answered).toBe(false);
      await vi.advanceTimersByTimeAsync(1);
      expect(answered).toBe(true);
      expect((await reply).stopReason).toBeDefined();
    });

    it('honours an abort during the wait: rejects at the abort, with no timer advanced', async () => {
      vi.useFakeTimers();
      const slow = createOfflineProvider({ latencyMs: 200 });
      const controller = new AbortController();
      const call = slow.complete(firstTurn(), { signal: controller.signal });
      const settled = expect(call).rejects.toBeInstanceOf(Aborted);
      await vi.advanceTimersByTimeAsync(20);
      controller.abort();
      await settled;
      expect(vi.getTimerCount()).toBe(0);
    });
  });

  it('rejects an already aborted call and a non-positive maxTokens', async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(model.complete(firstTurn(), { signal: controller.signal })).rejects.toBeInstanceOf(Aborted);
    await expect(model.complete(firstTurn({ maxTokens: 0 }))).rejects.toBeInstanceOf(InvalidInput);
  });
});
