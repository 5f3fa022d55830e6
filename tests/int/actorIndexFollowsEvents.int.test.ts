import { afterAll, describe, expect, it } from 'vitest';
import type { AgentSystem } from '../../src/system.js';
import type { ActorIndex } from '../../src/actors/ports/runtimePorts.js';
import { testSystem, type StoreKind } from '../support/system.js';

/**
 * On Postgres and PGlite an agent's actor-index entry is written by its AgentSpawned, in the same
 * commit (runtimeTables.ts, indexFollowsEvents), leased to the process that opened it.
 */
describe.each<StoreKind>(['postgres', 'pglite'])('the actor index follows the events (%s)', (kind) => {
  const systems: AgentSystem[] = [];
  afterAll(async () => {
    for (const s of systems) await s.close();
  });
  const indexOf = (system: AgentSystem): ActorIndex => (system.internal.runtime as unknown as { deps: { index: ActorIndex } }).deps.index;

  it('an entry appears with AgentSpawned, leased to its opener, and ends once the agent has', async () => {
    const system = await testSystem(kind);
    systems.push(system);
    const index = indexOf(system);
    expect(index.followsEvents).toBe(true);

    const root = await system.spawn({ role: 'lead', task: 'coordinate', budget: 20_000 });
    const child = await root.spawn({ role: 'worker', task: 'part', budget: 5_000 });
    expect(await index.get(child.id)).toEqual({ agentId: child.id, parentId: root.id, rootId: root.id, status: 'live' });
    const holders = await index.leaseHolders([child.id, root.id]);
    expect(holders.get(child.id)).toBe(holders.get(root.id));
    expect(holders.get(child.id)).toBeDefined();

    expect((await root.run()).status).toBe('completed');
    expect((await system.history(root.id)).some((e) => e.type === 'ChildFinished')).toBe(true);
    await expect.poll(async () => (await index.get(child.id))?.status, { timeout: 5_000 }).toBe('ended');
    // Nothing is live for recovery to pick up once the root's own ending has run.
    await expect.poll(async () => (await index.listLive()).map((e) => e.agentId), { timeout: 5_000 }).toEqual([]);
  });
});
