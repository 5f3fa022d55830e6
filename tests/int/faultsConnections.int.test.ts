import { afterAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import type { AgentSystem } from '../../src/system.js';
import { testSystem } from '../support/system.js';
import { testPgUrl } from '../support/testDb.js';
import { terminateBackends } from '../support/terminateBackends.js';
import { agentStream } from '../../src/actors/streams.js';

const TERMINAL = new Set(['AgentCompleted', 'AgentFailed', 'AgentTerminated']);

/**
 * Postgres connections killed under a running tree (pg_terminate_backend on this system's own
 * connections, in this test's database only): work continues, every agent ends once and the
 * budget is conserved.
 */
describe('faults: Postgres connections terminated mid-run', () => {
  let system: AgentSystem | undefined;
  afterAll(() => system?.close());

  it('a 16-agent tree finishes despite repeated connection kills', async () => {
    // A name of its own: other test files share this database, and their connections are not ours to kill.
    const app = `cadre-conn-kill-${process.pid}`;
    const url = new URL(testPgUrl());
    url.searchParams.set('application_name', app);
    system = await testSystem('postgres', { store: { kind: 'postgres', connectionString: url.toString() }, model: { provider: 'offline', latencyMs: 40 }, maxConcurrentAgents: 8 });
    const root = await system.spawn({ role: 'lead', task: 'coordinate', budget: 500_000 });
    const ids = [root.id];
    for (let i = 0; i < 3; i++) {
      const mid = await root.spawn({ role: 'mid', task: `area ${i}`, budget: 100_000 });
      ids.push(mid.id);
      for (let j = 0; j < 4; j++) ids.push((await mid.spawn({ role: 'leaf', task: `piece ${i}.${j}`, budget: 10_000 })).id);
    }
    const admin = new pg.Client({ connectionString: testPgUrl() });
    await admin.connect();
    const db = new URL(testPgUrl()).pathname.slice(1);
    let kills = 0;
    const done = root.run();
    let finished = false;
    void done.finally(() => (finished = true));
    for (let i = 0; i < 6 && !finished; i++) {
      await new Promise((r) => setTimeout(r, 150));
      kills += await terminateBackends(admin, db, app);
    }
    await admin.end();
    const result = await done;
    expect(kills).toBeGreaterThan(0);
    expect(result.status).toBe('completed');
    let consumed = 0;
    for (const id of ids) {
      const events = await system.store.readStream(agentStream(id));
      expect(events.filter((e) => TERMINAL.has(e.type)), id).toHaveLength(1);
      expect(events.find((e) => TERMINAL.has(e.type))!.type).toBe('AgentCompleted');
      consumed += (await system.internal.runtime.state(id)).budget.consumed;
    }
    const top = await root.getBudgetStatus();
    expect(top.allocated).toBe(consumed + top.available);
    console.log(`[faults] ${kills} connections terminated; ${ids.length} agents completed once each`);
  }, 120_000);
});
