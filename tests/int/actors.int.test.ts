import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentSystem } from '../../src/system.js';
import { timelineEntry } from '../../src/dashboard/timeline.js';
import { testSystem, type StoreKind } from '../support/system.js';
import { ADDED_SINCE_RECORDED, toJson, type GoldenFixture } from '../support/goldenHistory.js';
import { InvalidInput, NotSubordinate, BudgetExceeded } from '../../src/errors.js';

/** A stream recorded before metadata was stored lean (issue 19): every key is in it. */
const solo = JSON.parse(readFileSync(fileURLToPath(new URL('../fixtures/golden-solo.json', import.meta.url)), 'utf8')) as GoldenFixture;

for (const kind of ['pglite', 'postgres'] as StoreKind[]) {
  describe(`agent runtime on ${kind}`, () => {
    let system: AgentSystem;
    beforeAll(async () => {
      system = await testSystem(kind);
    });
    afterAll(() => system.close());

    it('runs a root with children and conserves the budget', async () => {
      const lead = await system.spawn({ role: 'lead', task: 'coordinate', budget: 100_000 });
      const a = await lead.spawn({ role: 'worker', task: 'part a', budget: 20_000 });
      const b = await lead.spawn({ role: 'worker', task: 'part b', budget: 20_000 });
      const grand = await a.spawn({ role: 'helper', task: 'detail', budget: 5_000 });
      const result = await lead.run();
      expect(result.status).toBe('completed');
      for (const h of [a, b, grand]) expect((await h.state()).status).toBe('completed');
      const root = await lead.getBudgetStatus();
      expect(root.delegated).toBe(0);
      expect(root.reserved).toBe(0);
      const consumed = (await Promise.all([lead, a, b, grand].map((h) => h.getBudgetStatus()))).reduce((n, s) => n + s.consumed, 0);
      expect(consumed).toBeGreaterThan(0);
      expect(root.allocated).toBe(consumed + root.available);
      expect(result.budgetConsumed).toBe(consumed);
    });

    it('records history with correlation ids and replays any revision', async () => {
      const agent = await system.spawn({ role: 'solo', task: 'think', budget: 10_000 });
      await agent.run();
      const history = await system.history(agent.id);
      expect(history[0]!.type).toBe('AgentSpawned');
      expect(history.map((e) => e.type)).toContain('ModelReplied');
      expect(new Set(history.map((e) => e.metadata.correlationId))).toEqual(new Set([agent.id]));
      const at0 = await system.replay(agent.id, { toRevision: 0 });
      expect(at0.status).toBe('spawned');
      const live = await agent.state();
      const replayed = await system.replay(agent.id);
      expect(replayed).toEqual(live);
    });

    it('stores metadata lean (issue 19) and history reads it back full', async () => {
      const lead = await system.spawn({ role: 'lead', task: 'coordinate', budget: 50_000 });
      const child = await lead.spawn({ role: 'worker', task: 'part', budget: 10_000 });
      expect((await lead.run()).status).toBe('completed');
      for (const [agent, rootId] of [[lead.id, lead.id], [child.id, lead.id]] as const) {
        const raw = await system.store.readStream(`agent-${agent}`);
        for (const e of raw) {
          expect(e.metadata.schemaVersion, `${e.type} stored schemaVersion`).not.toBe(1);
          expect(e.metadata.causationId, `${e.type} stored causationId`).not.toBe(`agent:${agent}`);
          expect(e.metadata.correlationId, `${e.type} stored correlationId`).not.toBe(agent);
        }
        const history = await system.history(agent);
        expect(history).toHaveLength(raw.length);
        history.forEach((e, i) => {
          const stored = raw[i]!.metadata;
          expect(e.metadata).toEqual({
            ...stored,
            correlationId: rootId,
            causationId: stored.causationId ?? `agent:${agent}`,
            schemaVersion: stored.schemaVersion ?? 1,
          });
        });
      }
      // The child's own events mostly name only their time, run and version: the cause is implied
      // (its model request, a v2, names no cause: the child decided it itself).
      const childRaw = await system.store.readStream(`agent-${child.id}`);
      const requested = childRaw.find((e) => e.type === 'ModelRequested');
      expect(Object.keys(requested!.metadata).sort().join()).toBe('at,correlationId,schemaVersion');
    });

    it('reads an old stream (every metadata key stored) exactly as stored, beside lean ones', async () => {
      const stream = solo.streams[0]!;
      await system.store.append(`agent-${stream.agentId}`, stream.events.map((e) => ({ id: e.id, type: e.type, data: e.data, metadata: e.metadata })), { expectedRevision: 'no_stream' });
      const history = await system.history(stream.agentId);
      expect(history.map((e) => e.metadata)).toEqual(stream.events.map((e) => e.metadata));
      expect(history.map((e) => timelineEntry(e).at)).toEqual(stream.events.map((e) => e.metadata.at));
      expect(toJson(await system.replay(stream.agentId))).toEqual({ ...ADDED_SINCE_RECORDED, ...(stream.expected as object) });
    });

    it('history, state and replay are JSON as they are: revisions and positions are exact numbers; replay takes a number or a bigint', async () => {
      const agent = await system.spawn({ role: 'solo', task: 'think', budget: 10_000 });
      await agent.run();
      const history = await system.history(agent.id);
      expect(JSON.parse(JSON.stringify(history))).toEqual(history);
      expect(history.map((e) => e.revision)).toEqual(history.map((_, i) => i));
      // The same positions the store holds as bigints, not rounded on the way.
      const stored = await system.store.readStream(`agent-${agent.id}`);
      expect(history.map((e) => BigInt(e.position))).toEqual(stored.map((r) => r.position));
      expect(await agent.history()).toEqual(history);

      const state = await agent.state();
      expect(JSON.parse(JSON.stringify(state))).toEqual(state);
      expect(state.revision).toBe(history.length - 1);
      const byNumber = await system.replay(agent.id, { toRevision: 1 });
      expect(byNumber.revision).toBe(1);
      expect(JSON.parse(JSON.stringify(byNumber))).toEqual(byNumber);
      expect(await system.replay(agent.id, { toRevision: 1n })).toEqual(byNumber);

      // 2^53 as a number may already be rounded (2 ** 53 + 1 === 2 ** 53): refused, naming the field.
      const err = await system.replay(agent.id, { toRevision: 2 ** 53 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(InvalidInput);
      expect((err as InvalidInput).field).toBe('toRevision');
      expect((err as InvalidInput).message).toContain('2^53');
      // Read-your-writes takes a history position as it comes (a number).
      await system.reports.waitFor(history.at(-1)!.position);
    });

    it('fires a subtree children first and reclaims the unspent budget', async () => {
      const lead = await system.spawn({ role: 'lead', task: 'x', budget: 50_000 });
      const mid = await lead.spawn({ role: 'mid', task: 'y', budget: 30_000 });
      const leaf = await mid.spawn({ role: 'leaf', task: 'z', budget: 10_000 });
      await lead.fire(mid.id);
      expect((await mid.state()).status).toBe('terminated');
      expect((await leaf.state()).status).toBe('terminated');
      const s = await lead.getBudgetStatus();
      expect(s.delegated).toBe(0);
      expect(s.available).toBe(50_000);
      await expect(mid.fire(lead.id)).rejects.toBeInstanceOf(NotSubordinate);
    });

    it('projections agree with the actors: tree, statuses and budgets', async () => {
      const lead = await system.spawn({ role: 'lead', task: 'report me', budget: 40_000 });
      const w = await lead.spawn({ role: 'worker', task: 'w', budget: 10_000 });
      await lead.run();
      // Projections follow the store; on a database shared with other writers they may trail
      // our own appends for a moment.
      for (let i = 0; i < 200 && (await system.reports.agent(lead.id))?.status !== 'completed'; i++) await new Promise((r) => setTimeout(r, 25));
      await system.reports.waitFor(await system.store.headPosition());
      const tree = await system.reports.tree(lead.id);
      expect(tree.map((r) => r.agentId).sort()).toEqual([lead.id, w.id].sort());
      for (const h of [lead, w]) {
        const row = await system.reports.agent(h.id);
        const s = await h.state();
        expect(row?.status).toBe(s.status);
        const b = await system.reports.budget(h.id);
        expect(b).toMatchObject({ allocated: s.budget.allocated, consumed: s.budget.consumed, available: s.budget.available });
      }
    });

    it('refuses bad input and overspending, writing nothing', async () => {
      await expect(system.spawn({ role: '', task: 'x', budget: 1 })).rejects.toBeInstanceOf(InvalidInput);
      await expect(system.spawn({ role: 'r', task: 'x', budget: -5 })).rejects.toThrow(/budget/);
      // An empty or blank task, as the CLI refuses it: named, nothing written (a new user's `--task ""` made an agent with nothing to do).
      for (const task of ['', ' \n\t']) await expect(system.spawn({ role: 'r', task, budget: 1 })).rejects.toThrow(/spawn\.task: must not be empty/);
      await expect(system.spawnWorkflow({ templateId: 'tdd-workflow', task: '  ', budget: 1000 })).rejects.toThrow(/task: must not be empty/);
      const lead = await system.spawn({ role: 'lead', task: 'x', budget: 1000 });
      const err = await lead.spawn({ role: 'w', task: 'y', budget: 5000 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(BudgetExceeded);
      expect((await lead.state()).children).toEqual([]);
    });
  });
}
