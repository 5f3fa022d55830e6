import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { createAgentSystem, type AgentSystem } from '../../src/system.js';
import { freshSchema, testPgUrl } from '../support/testDb.js';

/**
 * Reading the reports after a run: `waitFor(await store.headPosition())` returned before the run's
 * events were applied whenever another transaction was open (a subscriber, and so that head, sees
 * an event only once every older transaction has ended), and the reports did not show the run.
 * `reports.caughtUp()` waits for every event committed before it was called.
 */
describe('reports.caughtUp', () => {
  let system: AgentSystem;
  const other = new pg.Client({ connectionString: testPgUrl() });
  beforeAll(async () => {
    system = await createAgentSystem({ store: { kind: 'postgres', connectionString: testPgUrl() }, schema: freshSchema('rcu'), env: {}, model: { provider: 'offline' } });
    await other.connect();
  });
  afterAll(async () => {
    await other.end();
    await system?.close();
  });

  it('waits past a transaction left open elsewhere, where the visible head did not', async () => {
    // A transaction with an xid, older than the run's: open while the run commits.
    await other.query('BEGIN');
    await other.query('SELECT pg_current_xact_id()');
    const agent = await system.spawn({ role: 'r', task: 't', budget: 20_000 });
    expect((await agent.run()).status).toBe('completed');

    await system.reports.waitFor(await system.store.headPosition(), 5_000);
    expect(await system.reports.agent(agent.id)).toBeNull(); // the trap: not applied yet

    const caughtUp = system.reports.caughtUp(20_000);
    setTimeout(() => void other.query('COMMIT'), 300);
    await caughtUp;
    expect((await system.reports.agent(agent.id))?.status).toBe('completed');
  }, 60_000);
});
