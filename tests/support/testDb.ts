import { inject } from 'vitest';
import { randomUUID } from 'node:crypto';
import { createPgClient } from '../../src/infra/sql/pgClient.js';
import { createPgliteClient } from '../../src/infra/sql/pgliteClient.js';
import type { SqlClient } from '../../src/infra/sql/sqlClient.js';

/** The Postgres database created for this test run (see globalSetup). */
export const testPgUrl = (): string => inject('pgUrl');

/** A schema name no other test uses, so suites never share or drop each other's tables. */
export const freshSchema = (prefix = 't'): string => `${prefix}_${randomUUID().replace(/-/g, '').slice(0, 12)}`;

export interface SqlTarget {
  readonly name: 'pglite' | 'postgres';
  open(): Promise<SqlClient>;
}

/** Both SQL backends every Postgres-family test runs against. */
export const sqlTargets: readonly SqlTarget[] = [
  { name: 'pglite', open: () => createPgliteClient() },
  { name: 'postgres', open: async () => createPgClient({ connectionString: testPgUrl(), max: 12 }) },
];
