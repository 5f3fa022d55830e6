import { afterAll, describe, expect, it } from 'vitest';
import type { ModelProvider, ModelRequest } from '../../src/actors/ports/modelProvider.js';
import type { Logger } from '../../src/actors/ports/runtimePorts.js';
import type { AgentSystem } from '../../src/system.js';
import { terminationEvents } from '../../src/actors/agentDecisions.js';
import { freshSchema } from '../support/testDb.js';
import { testSystem } from '../support/system.js';

/**
 * A run fired by another process (`cadre fire` beside `cadre run`): the running process learnt
 * of the ends from the store, but its model calls went on until the slow model answered, its
 * run() waited for them, and close() then warned of "a tool that ignores ctx.signal" (a new
 * user's try: 9 s to exit after a fire, with a model answering after 10 s).
 */
describe('an agent fired by another process while its model call is out', () => {
  const systems: AgentSystem[] = [];
  afterAll(async () => {
    for (const s of systems) await s.close();
  });

  it('has its call aborted here, its run ends at once, and close() waits for nothing', async () => {
    const aborted: string[] = [];
    const slow: ModelProvider = {
      name: 'slow',
      isLLM: false,
      defaultModel: 'slow-model',
      estimateInputTokens: () => 50,
      // Answers only when aborted (as an HTTP call cut off by the SDK would).
      complete: (r: ModelRequest, o) => new Promise((_resolve, reject) => o?.signal?.addEventListener('abort', () => {
        aborted.push(r.agent?.role ?? '?');
        reject(new Error('aborted'));
      })),
    };
    const warnings: string[] = [];
    const logger: Logger = {
      debug: () => {},
      info: () => {},
      warn: (_o: object, msg?: string) => void warnings.push(msg ?? ''),
      error: (_o: object, msg?: string) => void warnings.push(msg ?? ''),
      child: () => logger,
    };
    const schema = freshSchema('fired');
    const running = await testSystem('postgres', { schema, model: slow, logger });
    const firing = await testSystem('postgres', { schema, recover: false });
    systems.push(firing);
    const agent = await running.spawn({ role: 'worker', task: 'wait for the model', budget: 20_000 });
    const run = agent.run();
    const deadline = Date.now() + 10_000;
    while ((await running.get(agent.id).state()).status !== 'waiting' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    // The firing process records the whole firing before this one reacts to any of it (as
    // `cadre fire` did beside a busy `cadre run`): here it learns of the end, not of a firing.
    await firing.internal.runtime.execute(agent.id, (s) => [{ type: 'AgentTerminating', data: { reason: 'user stop', by: null } }, ...terminationEvents({ ...s.context, terminating: { reason: 'user stop', by: null } }, 'user stop', null)], { causationId: 'api:terminate' });
    const t = Date.now();
    const result = await run;
    expect(result.status).toBe('terminated');
    const closing = Date.now();
    await running.close();
    expect(aborted).toEqual(['worker']);
    expect(Date.now() - closing, 'close() waited for a call whose reply cannot be recorded').toBeLessThan(2_000);
    expect(closing - t, 'run() waited for the model after the fire').toBeLessThan(4_000);
    expect(warnings.join('\n')).not.toMatch(/still running/);
  });
});
