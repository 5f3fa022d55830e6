import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentSystem, AgentSystemOptions } from '../../src/system.js';
import { Aborted, InvalidInput } from '../../src/errors.js';
import { testSystem, type StoreKind } from '../support/system.js';
import { freshSchema, testPgUrl } from '../support/testDb.js';
import { heldModel, type HeldModel } from '../support/heldModel.js';
import { checkTreeAtRest } from '../support/actorsInvariants.js';

/** The deadline: aborting ends the agent and its subtree within 1 s, its model call aborted. */
const DEADLINE_MS = 1_000;

for (const kind of ['pglite', 'postgres'] as StoreKind[]) {
  describe(`cancellation on ${kind}`, () => {
    let system: AgentSystem;
    let model: HeldModel;
    beforeAll(async () => {
      // Agents with these roles sit in a model call that only an abort (or a release) ends.
      model = heldModel(['grandchild', 'slow', 'patient', 'tester']);
      system = await testSystem(kind, { model });
    });
    afterAll(() => system.close());

    it('run({ signal }): aborting ends a 3-level tree within 1 s, aborts the model call in flight and returns the budget up', async () => {
      const root = await system.spawn({ role: 'root', task: 'lead', budget: 60_000 });
      const child = await root.spawn({ role: 'child', task: 'delegate', budget: 30_000 });
      const grandchild = await child.spawn({ role: 'grandchild', task: 'think forever', budget: 10_000 });
      const controller = new AbortController();
      const running = root.run({ signal: controller.signal });
      await model.called('grandchild');
      // Root and child have answered and wait for their children; the grandchild's tokens are reserved.
      expect((await grandchild.state()).budget.reserved).toBeGreaterThan(0);

      const abortedAt = performance.now();
      controller.abort();
      const result = await running;
      const tookMs = performance.now() - abortedAt;

      expect(result.status).toBe('terminated');
      expect(result.reason).toBe('cancelled');
      expect(tookMs).toBeLessThan(DEADLINE_MS);
      for (const h of [root, child, grandchild]) expect((await h.state()).status, h.id).toBe('terminated');
      const observed = model.aborts.find((a) => a.role === 'grandchild');
      expect(observed, 'the slow model saw its signal fire').toBeDefined();
      expect(observed!.at - abortedAt).toBeLessThan(DEADLINE_MS);
      // Whose end says why: the root was cancelled, its subtree ended with it.
      const ends = await Promise.all([root, child, grandchild].map(async (h) => (await h.history()).find((e) => e.type === 'AgentTerminated')!.data as { reason: string }));
      expect(ends[0]!.reason).toBe('cancelled');
      expect(ends[2]!.reason).toContain('cancelled');
      // Every agent ended once, reservations released, unspent tokens reclaimed up to the root.
      const { consumed } = await checkTreeAtRest(system, root.id);
      const at = await root.getBudgetStatus();
      expect(at.reserved).toBe(0);
      expect(at.delegated).toBe(0);
      expect(at.allocated).toBe(consumed + at.available);
      expect(result.budgetConsumed).toBe(consumed);
    });

    it('an already-aborted signal terminates at once: nothing of the agent runs', async () => {
      const calls = model.calls.length;
      const root = await system.spawn({ role: 'root', task: 'never starts', budget: 20_000 });
      const child = await root.spawn({ role: 'child', task: 'never starts either', budget: 5_000 });
      const result = await root.run({ signal: AbortSignal.abort() });
      expect(result).toMatchObject({ status: 'terminated', reason: 'cancelled', budgetConsumed: 0 });
      expect((await child.state()).status).toBe('terminated');
      expect(model.calls.length, 'no model call made').toBe(calls);
      expect((await root.history()).map((e) => e.type)).not.toContain('AgentStarted');
      await checkTreeAtRest(system, root.id);
      expect((await root.getBudgetStatus()).available).toBe(20_000);
    });

    it('a signal aborted after the end changes nothing, and an aborted one on an ended agent returns its result', async () => {
      const agent = await system.spawn({ role: 'quick', task: 'answer', budget: 10_000 });
      const controller = new AbortController();
      const done = await agent.run({ signal: controller.signal });
      expect(done.status).toBe('completed');
      const before = await agent.history();
      controller.abort();
      await new Promise((r) => setTimeout(r, 100));
      expect(await agent.history()).toEqual(before);
      expect(await agent.run({ signal: AbortSignal.abort() })).toEqual(done);
      expect(await agent.history()).toEqual(before);
    });

    it('start() returns once the run is asked for; result() waits for the end', async () => {
      const agent = await system.spawn({ role: 'slow', task: 'take a while', budget: 10_000 });
      await agent.start();
      await model.called('slow'); // running without anyone waiting on it
      expect((await agent.state()).status).toBe('waiting'); // for its model
      const waiting = agent.result();
      model.release('slow');
      const result = await waiting;
      expect(result.status).toBe('completed');
      expect(await agent.result()).toEqual(result);
      expect(await agent.run()).toEqual(result); // run() = start() + result(), idempotent
    });

    it('result({ signal }): aborting stops the wait only; the agent goes on to complete', async () => {
      const agent = await system.spawn({ role: 'patient', task: 'finish later', budget: 10_000 });
      await agent.start();
      await model.called('patient');
      const controller = new AbortController();
      const waiting = agent.result({ signal: controller.signal });
      controller.abort();
      await expect(waiting).rejects.toBeInstanceOf(Aborted);
      await expect(agent.result({ signal: AbortSignal.abort() })).rejects.toBeInstanceOf(Aborted);
      expect(model.aborts.some((a) => a.role === 'patient'), 'its model call was not aborted').toBe(false);
      expect((await agent.state()).status).toBe('waiting'); // for its model, still
      model.release('patient');
      expect((await agent.result()).status).toBe('completed');
    });

    it('a workflow handle cancels the same way: its node agents end with it', async () => {
      const wf = await system.workflows.spawnWorkflow({ graph: { nodes: [{ id: 'check', role: 'tester', task: 'wait on the model', budgetPercent: 50 }] }, task: 'cancel me', budget: 20_000 });
      const controller = new AbortController();
      const running = wf.run({ signal: controller.signal });
      await model.called('tester');
      controller.abort();
      expect(await running).toMatchObject({ status: 'terminated', reason: 'cancelled' });
      expect(model.aborts.some((a) => a.role === 'tester')).toBe(true);
      const { ids } = await checkTreeAtRest(system, wf.id);
      expect(ids.length).toBe(2);
      for (const id of ids) expect((await system.get(id).state()).status).toBe('terminated');
    });

    it('a signal that is not an AbortSignal is refused, naming it', async () => {
      const agent = await system.spawn({ role: 'quick', task: 'x', budget: 5_000 });
      await expect(agent.run({ signal: 'stop' as unknown as AbortSignal })).rejects.toBeInstanceOf(InvalidInput);
      await expect(agent.result({ signal: {} as AbortSignal })).rejects.toMatchObject({ field: 'signal' });
      expect((await agent.state()).status).toBe('spawned');
    });
  });

  describe(`start() survives a restart on ${kind}`, () => {
    const dir = mkdtempSync(join(tmpdir(), 'cadre-cancel-'));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('the run request recorded by start() is run by the next system, whose result() gets the end', async () => {
      const shared: AgentSystemOptions = {
        schema: freshSchema('cancel'),
        store: kind === 'postgres' ? { kind: 'postgres', connectionString: testPgUrl() } : { kind: 'pglite', dataDir: join(dir, 'db') },
      };
      // A first process that asks but hosts nothing (no room): the request alone must carry the run.
      const first = await testSystem(kind, { ...shared, worker: { owner: 'cancel-first', capacity: 0 } });
      let id: string;
      try {
        const agent = await first.spawn({ role: 'solo', task: 'outlive the process', budget: 10_000 });
        id = agent.id;
        await agent.start();
        expect((await agent.history()).map((e) => e.type)).toContain('AgentRunRequested');
        expect((await agent.state()).status).toBe('spawned');
      } finally {
        await first.close();
      }
      const second = await testSystem(kind, shared);
      try {
        const result = await second.get(id).result({ signal: AbortSignal.timeout(20_000) });
        expect(result.status).toBe('completed');
        expect((await second.history(id)).filter((e) => e.type === 'AgentRunRequested')).toHaveLength(1);
      } finally {
        await second.close();
      }
    }, 60_000);
  });
}
