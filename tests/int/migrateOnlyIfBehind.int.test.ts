import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPgClient } from '../../src/infra/sql/pgClient.js';
import { migrate } from '../../src/infra/sql/migrate.js';
import type { SqlClient } from '../../src/infra/sql/sqlClient.js';
import { freshDatabase } from '../support/cliProcess.js';

// Read commands open with `onlyIfBehind`: a current schema costs one query, a missing or older
// one is migrated as a writer would.
describe('migrate({ onlyIfBehind })', () => {
  let db: Awaited<ReturnType<typeof freshDatabase>>;
  let sql: SqlClient;
  const calls: string[] = [];
  beforeAll(async () => {
    db = await freshDatabase();
    const inner = createPgClient({ connectionString: db.url });
    sql = new Proxy(inner, {
      get(target, key, receiver) {
        const value = Reflect.get(target, key, receiver) as unknown;
        if (typeof value !== 'function' || !['query', 'exec', 'transaction'].includes(String(key))) return value;
        return (...args: unknown[]) => {
          calls.push(String(key));
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    });
  });
  afterAll(async () => {
    await sql.close();
    await db.drop();
  });
  const steps = ['CREATE TABLE m_test.a (id int)'];

  it('migrates a schema that does not exist yet', async () => {
    await migrate(sql, 'm_test', 'c', steps, { onlyIfBehind: true });
    expect(await db.query('SELECT max(version) AS v FROM m_test.migrations')).toEqual([{ v: 1 }]);
  });

  it('stops after one query when the schema is current', async () => {
    calls.length = 0;
    expect(await migrate(sql, 'm_test', 'c', steps, { onlyIfBehind: true })).toBe(1);
    expect(calls).toEqual(['query']);
  });

  it('applies the steps an older schema lacks', async () => {
    await migrate(sql, 'm_test', 'c', [...steps, 'CREATE TABLE m_test.b (id int)'], { onlyIfBehind: true });
    expect(await db.query('SELECT max(version) AS v FROM m_test.migrations')).toEqual([{ v: 2 }]);
    expect(await db.query(`SELECT to_regclass('m_test.b')::text AS t`)).toEqual([{ t: 'm_test.b' }]);
  });
});
