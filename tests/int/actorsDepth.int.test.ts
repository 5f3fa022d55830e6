import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentSystem } from '../../src/system.js';
import { testSystem } from '../support/system.js';
import { checkTreeAtRest } from '../support/actorsInvariants.js';

const DEPTH = Number(process.env.CADRE_DEPTH ?? 1000);

describe(`a chain ${DEPTH} levels deep`, () => {
  let system: AgentSystem;
  beforeAll(async () => {
    system = await testSystem('postgres');
  });
  afterAll(() => system.close());

  const t0 = Date.now();
  const lap = (what: string): void => { if (process.env.CADRE_DEPTH_TIMING) console.log(what, Date.now() - t0); };
  it('spawns, fires from the root (children first), and replays', { timeout: 240_000 }, async () => {
    const root = await system.spawn({ role: 'level-0', task: 'top', budget: 10 * DEPTH + 10 });
    const chain = [root];
    for (let i = 1; i <= DEPTH; i++) chain.push(await chain[i - 1]!.spawn({ role: `level-${i}`, task: 'down', budget: 10 * (DEPTH - i) + 10 }));
    lap('spawned');
    const leaf = chain[DEPTH]!;
    expect((await leaf.state()).depth).toBe(DEPTH);

    // The root may fire the deepest agent (a 1,000-hop ancestry check), and a leaf may not fire up.
    await expect(leaf.fire(root.id)).rejects.toThrow(/not a subordinate/);
    await root.fire(leaf.id, 'leaf first');
    expect((await leaf.state()).status).toBe('terminated');

    lap('fired leaf');
    await root.fire(chain[1]!.id, 'the whole chain');
    lap('fired chain');
    for (const h of chain.slice(1)) expect((await h.state()).status).toBe('terminated');
    const end = (await system.history(chain[DEPTH - 1]!.id)).map((e) => e.type);
    expect(end.slice(-1)).toEqual(['AgentTerminated']);

    // Children first: each agent's AgentTerminated comes after its child's.
    const at = new Map<string, number>();
    for (const h of chain.slice(1)) at.set(h.id, (await system.history(h.id)).find((e) => e.type === 'AgentTerminated')!.position);
    for (let i = 1; i < DEPTH; i++) expect(at.get(chain[i]!.id)! > at.get(chain[i + 1]!.id)!).toBe(true);

    lap('checked order');
    await system.terminate(root.id, 'done');
    const { ids } = await checkTreeAtRest(system, root.id);
    expect(ids).toHaveLength(DEPTH + 1);
    expect((await root.state()).budget).toMatchObject({ available: 10 * DEPTH + 10, delegated: 0, spentBySubtree: 0 });

    // The hierarchy projection holds the whole chain: a path ~37 kB long at the leaf once went
    // past the btree's 2.7 kB entry limit and stalled the runner.
    await system.reports.waitFor(await system.store.headPosition(), 120_000);
    const tree = await system.reports.tree(root.id);
    expect(tree).toHaveLength(DEPTH + 1);
    expect(tree.at(-1)).toMatchObject({ agentId: leaf.id, depth: DEPTH });
    expect((await system.reports.tree(chain[DEPTH - 5]!.id)).map((r) => r.agentId)).toEqual(chain.slice(DEPTH - 5).map((h) => h.id));
    expect((await system.reports.ancestors(leaf.id)).map((r) => r.agentId)).toEqual(chain.slice(0, DEPTH).map((h) => h.id));
  });
});
