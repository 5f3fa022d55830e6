import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { AgentSystem } from '../../src/system.js';
import type { ModelReply, ModelRequest } from '../../src/actors/ports/modelProvider.js';
import { createScriptedProvider } from '../../src/infra/model/scriptedProvider.js';
import { estimateInputTokens } from '../../src/infra/model/estimateInputTokens.js';
import { BudgetExceeded, InvalidTransition } from '../../src/errors.js';
import { testSystem, type StoreKind } from '../support/system.js';
import { checkLiveEqualsReplay, checkStreams, checkTreeAtRest, treeOf } from '../support/actorsInvariants.js';

/**
 * Random command sequences over random trees, on a real store. After every step the state
 * folded from the stored events equals the live state and no event is lost or doubled; at rest
 * the budget is conserved and no balance was ever negative.
 */

const NUM_RUNS = Number(process.env.CADRE_PROPERTY_RUNS ?? 12);

type Command =
  | { kind: 'spawn'; parent: number; fraction: number }
  | { kind: 'run'; pick: number }
  | { kind: 'fire'; pick: number }
  | { kind: 'pause'; ms: number };

const command: fc.Arbitrary<Command> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('spawn' as const), parent: fc.nat(), fraction: fc.oneof(fc.double({ min: 0.02, max: 0.5, noNaN: true }), fc.double({ min: 0.9, max: 1.3, noNaN: true })) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('run' as const), pick: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('fire' as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('pause' as const), ms: fc.integer({ min: 0, max: 25 }) }) },
);

/** A tiny deterministic hash: the reply to a request depends only on it and the run's seed. */
function hash(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}

let runSeed = 0;

/** Random replies with random usage; never more than the request allows (a real API never is). */
function scriptedReply(req: ModelRequest): ModelReply {
  const turn = req.messages.length;
  const h = hash(`${runSeed}:${req.agent?.id}:${turn}`);
  const est = estimateInputTokens(req);
  const usage = { inputTokens: Math.floor(est * (0.5 + (h % 50) / 100)), outputTokens: (h >>> 8) % (req.maxTokens + 1), cacheReadTokens: 0, cacheCreationTokens: 0 };
  const pick = (h >>> 20) % 100;
  const depth = (req.agent?.role.match(/\./g) ?? []).length;
  if (pick < 15 && depth < 2 && turn < 4) {
    const budget = 200 + ((h >>> 4) % 4000);
    return { model: 'scripted', content: [{ type: 'tool_use', id: `tu_${turn}`, name: 'spawn_agent', input: { role: `${req.agent?.role}.sub`, task: 'help', budget } }], stopReason: 'tool_use', usage };
  }
  if (pick < 35) return { model: 'scripted', content: [{ type: 'tool_use', id: `tf_${turn}`, name: 'finish', input: { output: `done ${turn}` } }], stopReason: 'tool_use', usage };
  if (pick < 50 && turn < 6) return { model: 'scripted', content: [{ type: 'text', text: 'more' }], stopReason: 'max_tokens', usage };
  return { model: 'scripted', content: [{ type: 'text', text: `answer ${turn}` }], stopReason: 'end_turn', usage };
}

for (const kind of ['pglite', 'postgres'] as StoreKind[]) {
  describe(`actor properties on ${kind}`, () => {
    let system: AgentSystem;
    beforeAll(async () => {
      system = await testSystem(kind, { model: createScriptedProvider((req) => scriptedReply(req)), maxTokensPerCall: 300, maxConcurrentAgents: 4, snapshotEvery: 7 });
    });
    afterAll(() => system.close());

    const stats = new Map<string, number>();
    afterAll(() => {
      if (process.env.CADRE_PROPERTY_STATS) console.log(kind, Object.fromEntries([...stats].sort()));
    });

    it(`live state = replayed state after every step; nothing lost or doubled; conservation at rest (${NUM_RUNS} runs)`, async () => {
      await fc.assert(
        fc.asyncProperty(fc.integer({ min: 1, max: 2 ** 30 }), fc.array(fc.integer({ min: 4_000, max: 40_000 }), { minLength: 1, maxLength: 2 }), fc.array(command, { minLength: 4, maxLength: 14 }), async (seed, rootBudgets, commands) => {
          runSeed = seed;
          const roots: string[] = [];
          for (const budget of rootBudgets) roots.push((await system.spawn({ role: 'r', task: 'root', budget })).id);
          const runs: Promise<unknown>[] = [];
          const known = async (): Promise<string[]> => (await Promise.all(roots.map((r) => treeOf(system, r)))).flat();

          for (const c of commands) {
            const ids = await known();
            if (c.kind === 'spawn') {
              const parent = ids[c.parent % ids.length]!;
              const st = await system.get(parent).state();
              const budget = Math.max(1, Math.floor(st.budget.available * c.fraction));
              const before = (await system.history(parent)).length;
              try {
                await system.get(parent).spawn({ role: `${st.role}.c`, task: 'sub', budget });
              } catch (err) {
                // Refusals are expected: over budget, or the parent has already ended. Nothing written.
                expect(err instanceof BudgetExceeded || err instanceof InvalidTransition, String(err)).toBe(true);
                // The parent may be spending concurrently, so judge the refusal by its own numbers.
                if (err instanceof BudgetExceeded) expect(err.requested).toBeGreaterThan(err.available);
                const after = await system.history(parent);
                expect(after.slice(before).some((e) => e.type === 'ChildSpawned' && e.data.budget === budget && e.data.role === `${st.role}.c`)).toBe(false);
              }
            } else if (c.kind === 'run') {
              const id = ids[c.pick % ids.length]!;
              runs.push(system.run(id));
            } else if (c.kind === 'fire') {
              const id = ids[c.pick % ids.length]!;
              const st = await system.get(id).state();
              if (st.parentId) await system.get(st.parentId).fire(id, 'property test');
            } else {
              await new Promise((r) => setTimeout(r, c.ms));
            }
            await checkLiveEqualsReplay(system, await known());
          }

          // To rest: run every root to its end (some already fired children remain terminated).
          for (const r of roots) runs.push(system.run(r));
          const results = await Promise.allSettled(runs);
          for (const r of results) if (r.status === 'rejected') throw r.reason;
          for (const r of roots) {
            const { ids } = await checkTreeAtRest(system, r);
            await checkLiveEqualsReplay(system, ids);
          }
          const facts = await checkStreams(system, await known());
          for (const h of facts.histories.values()) for (const e of h) stats.set(e.type === 'AgentFailed' ? `AgentFailed:${e.data.cause}` : e.type, (stats.get(e.type === 'AgentFailed' ? `AgentFailed:${e.data.cause}` : e.type) ?? 0) + 1);
        }),
        { numRuns: NUM_RUNS, endOnFailure: true },
      );
    });
  });
}
