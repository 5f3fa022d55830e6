import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { AgentSystem } from '../../src/system.js';
import type { AgentHandle } from '../../src/actors/agentHandle.js';
import type { ModelReply } from '../../src/actors/ports/modelProvider.js';
import { isCadreError } from '../../src/errors.js';
import { LONE_SURROGATE } from '../../src/validation.js';
import { testSystem } from '../support/system.js';

/**
 * Unpaired UTF-16 surrogates: a JavaScript string can hold one, Postgres JSON cannot. Through the
 * API they were a raw DatabaseError naming nothing; in a model reply they failed the agent and
 * lost the reply's usage (BudgetReleased instead of a settlement). Now the API refuses them
 * naming the field, with nothing written, and a model's become U+FFFD with its usage settled.
 */
const RUNS = Number(process.env.CADRE_HOSTILE_RUNS ?? 40);

const lone = fc
  .tuple(fc.string({ maxLength: 12 }), fc.constantFrom('\ud800', '\udbff', '\udc00', '\udfff', '\ud83d'), fc.string({ maxLength: 12 }), fc.boolean())
  .map(([a, s, b, twice]) => `${a}${s}${b}${twice ? s : ''}`)
  .filter((s) => LONE_SURROGATE.test(s) && s.trim().length > 0);

async function refusal(p: Promise<unknown>): Promise<Error> {
  const err = await p.then(() => null, (e: unknown) => e);
  expect(err, 'accepted').not.toBeNull();
  expect(isCadreError(err), `not a cadre error: ${String(err)}`).toBe(true);
  return err as Error;
}

describe('unpaired surrogates', () => {
  let system: AgentSystem;
  let parent: AgentHandle;
  // Events stored so far, counted: the store's head position honours the xmin rule and reads
  // behind while other databases on the server hold transactions open (it read 0, then caught up).
  const head = async (): Promise<number> => Number((await system.internal.sql.query<{ n: string }>(`SELECT count(*) AS n FROM ${system.schema}.events`)).rows[0]!.n);
  const usage = { inputTokens: 11, outputTokens: 7, cacheReadTokens: 0, cacheCreationTokens: 0 };
  let script: (i: number, request: { messages: readonly unknown[] }) => ModelReply = () => ({ model: 'scripted', stopReason: 'end_turn', usage, content: [{ type: 'text', text: 'done' }] });

  beforeAll(async () => {
    system = await testSystem('postgres', { model: { provider: 'scripted', replies: (req: { messages: readonly unknown[] }, i: number) => script(i, req) } });
    parent = await system.spawn({ role: 'lead', task: 'hold the budget', budget: 100_000 });
  });
  afterAll(() => system?.close());

  it('spawn, send and terminate refuse them naming the field, and write nothing', async () => {
    const to = (await system.spawn({ role: 'inbox', task: 'receive', budget: 10 })).id;
    const child = await parent.spawn({ role: 'child', task: 'wait', budget: 10 });
    await fc.assert(
      fc.asyncProperty(lone, fc.constantFrom('role', 'task', 'model', 'payload', 'key', 'terminate', 'fire'), async (s, where) => {
        const before = await head();
        const [p, field] = where === 'role' ? [system.spawn({ role: s, task: 't', budget: 10 }), 'role']
          : where === 'task' ? [parent.spawn({ role: 'r', task: s, budget: 10 }), 'task']
          : where === 'model' ? [system.spawn({ role: 'r', task: 't', budget: 10, model: s }), 'model']
          : where === 'payload' ? [parent.sendMessage(to, { note: [1, s] }), 'payload.note[1]']
          : where === 'key' ? [parent.sendMessage(to, { [s]: 1 }), 'payload']
          : where === 'terminate' ? [system.terminate(to, s), 'reason']
          : [parent.fire(child.id, s), 'reason'];
        const err = await refusal(p);
        expect(err.message).toContain(field);
        expect(err.message).toMatch(/surrogate/);
        expect(await head()).toBe(before);
      }),
      { numRuns: RUNS },
    );
    expect((await child.state()).status).not.toBe('terminated');
  });

  it('the store itself names the event when one gets that far', async () => {
    const err = await refusal(system.store.append('test-surrogate', [{ id: crypto.randomUUID(), type: 'Noted', data: { text: 'a\ud800b' }, metadata: { correlationId: 'c', causationId: 'c', schemaVersion: 1, at: new Date().toISOString() } }], { expectedRevision: 'any' }));
    expect(err.message).toContain('events[0].data');
  });

  it('a model reply holding them is stored with U+FFFD, and its usage is settled', { timeout: 120_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(lone, lone, async (text, output) => {
        // Text and a finish call, both holding lone surrogates, in a key too: a key finish does
        // not take, so that reply is stored and its finish refused (tool inputs are strict); the
        // next turn's finish, holding them in its output, ends the agent.
        script = (i, request) => ({
          model: 'scripted', stopReason: 'tool_use', usage,
          content: request.messages.length === 1
            ? [{ type: 'text', text }, { type: 'tool_use', id: `toolu_${i}`, name: 'finish', input: { output, [text]: [output] } }]
            : [{ type: 'tool_use', id: `toolu_${i}`, name: 'finish', input: { output } }],
        });
        const a = await parent.spawn({ role: 'speaker', task: 'say it', budget: 5_000 });
        const r = await a.run();
        expect(r.status, r.reason ?? '').toBe('completed');
        expect(r.output).toBe(output.replace(new RegExp(LONE_SURROGATE.source, 'g'), '\uFFFD'));
        const history = await system.history(a.id);
        expect(history.some((e) => e.type === 'ModelReplied' && e.data.settles)).toBe(true);
        expect(history.map((e) => e.type)).not.toContain('BudgetReleased');
        expect((await a.state()).budget.consumed).toBe(2 * (usage.inputTokens + usage.outputTokens));
      }),
      { numRuns: Math.ceil(RUNS / 4) },
    );
  });
});
