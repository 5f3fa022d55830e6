import { afterAll, describe, expect, it } from 'vitest';
import type { AgentSystem } from '../../src/system.js';
import type { ModelReply, ModelRequest } from '../../src/actors/ports/modelProvider.js';
import { createScriptedProvider } from '../../src/infra/model/scriptedProvider.js';
import { BudgetExceeded } from '../../src/errors.js';
import { testSystem, type StoreKind } from '../support/system.js';
import { freshSchema } from '../support/testDb.js';
import { checkTreeAtRest } from '../support/actorsInvariants.js';

const usage = (input: number, output: number) => ({ inputTokens: input, outputTokens: output, cacheReadTokens: 0, cacheCreationTokens: 0 });
const CHILD_BUDGET = 2_000;
const FIRST_CALL_USAGE = 100;
// After its first call the lead has 10 children's worth and a half: the 11th does not fit.
const LEAD_BUDGET = FIRST_CALL_USAGE + 10 * CHILD_BUDGET + 1_000;

async function until(cond: () => Promise<boolean>, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

for (const kind of ['pglite', 'postgres'] as StoreKind[]) {
  describe(`budget under concurrency on ${kind}`, () => {
    const systems: AgentSystem[] = [];
    afterAll(async () => {
      for (const s of systems) await s.close();
    });

    it('50 model calls at once against a budget that fits 10: exactly 10 are made, 40 refused before spending', async () => {
      let openGate!: () => void;
      const gate = new Promise<void>((r) => (openGate = r));
      const model = createScriptedProvider(async (req: ModelRequest): Promise<ModelReply> => {
        if (req.agent?.role === 'lead') {
          if (req.messages.length === 1) {
            // One reply asking for 50 subordinates at once; their tools run concurrently.
            const content = Array.from({ length: 50 }, (_, i) => ({ type: 'tool_use' as const, id: `spawn_${i}`, name: 'spawn_agent', input: { role: 'worker', task: `part ${i}`, budget: CHILD_BUDGET } }));
            return { model: 'scripted', content, stopReason: 'tool_use', usage: usage(FIRST_CALL_USAGE, 0) };
          }
          return { model: 'scripted', content: [{ type: 'text', text: 'all parts done' }], stopReason: 'end_turn', usage: usage(50, 5) };
        }
        await gate; // every worker's call is held until all 50 spawns have been decided
        return { model: 'scripted', content: [{ type: 'text', text: 'part done' }], stopReason: 'end_turn', usage: usage(300, 20) };
      });
      const system = await testSystem(kind, { model, maxTokensPerCall: 500, maxConcurrentAgents: 64 });
      systems.push(system);
      const lead = await system.spawn({ role: 'lead', task: 'split the work', budget: LEAD_BUDGET });
      const done = lead.run();

      const workerCalls = (): number => model.requests.filter((r) => r.agent?.role === 'worker').length;
      await until(async () => {
        const c = await system.internal.runtime.context(lead.id);
        return Object.keys(c.children).length === 10 && Object.keys(c.pendingTools).length === 10;
      });
      await until(async () => workerCalls() === 10);
      // Decided, before any worker's tokens were spent: 10 delegations, 40 refusals.
      const history = await system.history(lead.id);
      const refusals = history.filter((e) => e.type === 'ToolReturned' && e.data.isError);
      expect(refusals).toHaveLength(40);
      for (const r of refusals) expect((r.data as { output: string }).output).toMatch(/needs 2000 tokens but only \d+ are available/);
      // Each spawn delegates its budget itself (ChildSpawned v3): no BudgetDelegated beside it.
      const delegations = history.filter((e) => e.type === 'ChildSpawned' && e.data.delegatesBudget);
      expect(delegations).toHaveLength(10);
      expect(history.filter((e) => e.type === 'BudgetDelegated')).toHaveLength(0);
      const status = await lead.getBudgetStatus();
      expect(status).toMatchObject({ consumed: FIRST_CALL_USAGE, delegated: 10 * CHILD_BUDGET, reserved: 0 });
      expect(status.available).toBeLessThan(CHILD_BUDGET);

      openGate();
      const result = await done;
      expect(result.status).toBe('completed');
      expect(workerCalls()).toBe(10);
      expect(model.requests).toHaveLength(12); // lead, 10 workers, lead's closing turn
      const { ids, consumed } = await checkTreeAtRest(system, lead.id);
      expect(ids).toHaveLength(11);
      expect(consumed).toBe(FIRST_CALL_USAGE + 10 * 320 + 55);
    });

    if (kind === 'postgres') {
      it('two systems spawning under one parent at once never double-spend its budget', async () => {
        const schema = freshSchema('race');
        const a = await testSystem('postgres', { schema });
        systems.push(a);
        const b = await testSystem('postgres', { schema });
        systems.push(b);
        const parent = await a.spawn({ role: 'lead', task: 'x', budget: 10 * CHILD_BUDGET + 500 });
        const attempts = Array.from({ length: 50 }, (_, i) => (i % 2 === 0 ? a : b).get(parent.id).spawn({ role: 'worker', task: `w${i}`, budget: CHILD_BUDGET }));
        const outcomes = await Promise.allSettled(attempts);
        const ok = outcomes.filter((o) => o.status === 'fulfilled');
        const refused = outcomes.filter((o) => o.status === 'rejected');
        for (const r of refused) expect((r as PromiseRejectedResult).reason).toBeInstanceOf(BudgetExceeded);
        expect(ok).toHaveLength(10);
        const fresh = await testSystem('postgres', { schema, recover: false });
        systems.push(fresh);
        const st = await fresh.replay(parent.id);
        expect(st.children).toHaveLength(10);
        expect(st.budget).toMatchObject({ delegated: 10 * CHILD_BUDGET, available: 500 });
      });
    }
  });
}
