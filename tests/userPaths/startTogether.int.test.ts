import { afterEach, describe, expect, it } from 'vitest';
import { freshDatabase, runCli, startCli } from '../support/cliProcess.js';

/**
 * Processes started together on a database nobody migrated yet, as a new user starts them (the
 * other user-path files migrate first, so theirs never race). Four `cadre run` at once used to
 * create the read models' tables side by side: some failed ("relation agents_v6_r0 already
 * exists", "cannot drop table ... other objects depend on it") and then hung for good, their
 * lease ticks and subscriptions still open.
 */
describe('processes started together on a new database', () => {
  const dbs: Awaited<ReturnType<typeof freshDatabase>>[] = [];
  afterEach(async () => {
    for (const db of dbs.splice(0)) await db.drop();
  });

  it('four `cadre run` at once all run to their end', async () => {
    const db = await freshDatabase();
    dbs.push(db);
    const runs = await Promise.all([1, 2, 3, 4].map((n) => runCli(['run', `Add a slugify helper (${n})`, '--template', 'tdd-workflow', '--budget', '100000', '--json'], { DATABASE_URL: db.url })));
    for (const r of runs) expect(r.code, r.output).toBe(0);
    const roots = await db.query<{ n: string }>(`SELECT count(*) AS n FROM cadre.agents WHERE parent_id IS NULL AND status = 'completed'`);
    expect(Number(roots[0]?.n)).toBe(4);
  }, 120_000);

  it('a start that fails half way says why and exits, instead of hanging with what it had opened', async () => {
    const db = await freshDatabase();
    dbs.push(db);
    // A table where a read model's view goes: the projections' set-up fails after the store,
    // messaging and the lease ticks have started.
    await db.query('CREATE SCHEMA cadre; CREATE TABLE cadre.agents (x int)');
    const run = startCli(['run', 'Add a slugify helper', '--template', 'tdd-workflow', '--budget', '100000'], { DATABASE_URL: db.url });
    const code = await Promise.race([run.exited, new Promise<'hung'>((r) => setTimeout(() => r('hung'), 30_000))]);
    if (code === 'hung') run.kill('SIGKILL');
    expect(code, run.output()).not.toBe('hung');
    expect(code).not.toBe(0);
    expect(run.output()).toMatch(/agents/);
  }, 60_000);
});
