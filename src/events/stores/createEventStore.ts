import { z } from 'zod';
import { parseInput } from '../../validation.js';
import { createPgClient } from '../../infra/sql/pgClient.js';
import { createPgliteClient } from '../../infra/sql/pgliteClient.js';
import { openPostgresEventStore, type PostgresEventStore } from './postgres/postgresEventStore.js';

export const EventStoreConfigSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('postgres'), connectionString: z.string().min(1), schema: z.string().optional(), poolSize: z.number().int().positive().optional() }),
  z.object({ kind: z.literal('pglite'), dataDir: z.string().min(1).optional(), schema: z.string().optional() }),
]);
export type EventStoreConfig = z.input<typeof EventStoreConfigSchema>;

/**
 * Opens an event store and applies its migrations.
 *
 * @example
 * const store = await createEventStore({ kind: 'pglite', dataDir: '.cadre/db' });
 * const pgStore = await createEventStore({ kind: 'postgres', connectionString: process.env.DATABASE_URL! });
 */
export async function createEventStore(config: EventStoreConfig): Promise<PostgresEventStore> {
  const c = parseInput(EventStoreConfigSchema, config, 'store');
  const sql = c.kind === 'postgres'
    ? createPgClient({ connectionString: c.connectionString, ...(c.poolSize ? { max: c.poolSize } : {}) })
    : await createPgliteClient(c.dataDir ? { dataDir: c.dataDir } : {});
  try {
    return await openPostgresEventStore({ sql, ownsClient: true, ...(c.schema ? { schema: c.schema } : {}) });
  } catch (err) {
    await sql.close();
    throw err;
  }
}
