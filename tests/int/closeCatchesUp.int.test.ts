import { afterAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { createAgentSystem } from '../../src/system.js';
import { freshSchema, testPgUrl } from '../support/testDb.js';

/**
 * A process's own last writes are in the read models when it has closed: four `cadre run` at once
 * on one database exited with a root's completion not yet applied, and no process was left to
 * apply it (a CI run read 3 completed roots of 4 from the agents table).
 */
describe('close', () => {
  const reader = new pg.Client({ connectionString: testPgUrl() });
  afterAll(async () => {
    await reader.end();
  });

  it('lets the read models apply the events the process wrote before it goes', async () => {
    const schema = freshSchema('ccu');
    const system = await createAgentSystem({ store: { kind: 'postgres', connectionString: testPgUrl() }, schema, env: {}, model: { provider: 'offline', latencyMs: 0 } });
    const agents = await Promise.all(Array.from({ length: 20 }, (_, i) => system.spawn({ role: 'r', task: `task ${i}`, budget: 20_000 })));
    const results = await Promise.all(agents.map((a) => a.run()));
    expect(results.every((r) => r.status === 'completed')).toBe(true);
    await system.close();
    await reader.connect();
    const rows = await reader.query<{ n: string }>(`SELECT count(*) AS n FROM ${schema}.agents WHERE status = 'completed'`);
    expect(Number(rows.rows[0]!.n)).toBe(20);
  }, 60_000);
});
