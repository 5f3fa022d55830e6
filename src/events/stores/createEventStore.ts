import { z } from 'zod';
import { parseInput } from '../../validation.js';
import { createPgClient } from '../../infra/sql/pgClient.js';
import { openPostgresEventStore, type PostgresEventStore } from './postgres/postgresEventStore.js';
import type { EventStoreDbStore } from './eventstoredb/eventStoreDbStore.js';

export const EventStoreConfigSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('postgres'), connectionString: z.string().min(1), schema: z.string().optional(), poolSize: z.number().int().positive().optional(), source: z.string().min(1).optional(), readOnly: z.boolean().optional() }),
  z.object({ kind: z.literal('pglite'), dataDir: z.string().min(1).optional(), schema: z.string().optional(), brief: z.boolean().optional() }),
  z.object({ kind: z.literal('eventstoredb'), connectionString: z.string().min(1), streamPrefixes: z.array(z.string().min(1)).optional() }),
]);
export type EventStoreConfig = z.input<typeof EventStoreConfigSchema>;

/**
 * Opens an event store and applies its migrations.
 *
 * @example
 * const store = await createEventStore({ kind: 'pglite', dataDir: '.cadre/db' });
 * const esdb = await createEventStore({ kind: 'eventstoredb', connectionString: 'kurrentdb://127.0.0.1:2113?tls=false' });
 * const pgStore = await createEventStore({ kind: 'postgres', connectionString: process.env.DATABASE_URL! });
 */
export async function createEventStore(config: EventStoreConfig & { kind: 'postgres' | 'pglite' }): Promise<PostgresEventStore>;
export async function createEventStore(config: EventStoreConfig): Promise<PostgresEventStore | EventStoreDbStore>;
export async function createEventStore(config: EventStoreConfig): Promise<PostgresEventStore | EventStoreDbStore> {
  const c = parseInput(EventStoreConfigSchema, config, 'store');
  // Each store's client is loaded when chosen: the KurrentDB client (gRPC) and PGlite (WASM) are
  // heavy, and a process uses one store.
  if (c.kind === 'eventstoredb') return (await import('./eventstoredb/eventStoreDbStore.js')).createEventStoreDbStore(c.connectionString, c.streamPrefixes ? { streamPrefixes: c.streamPrefixes } : {});
  const sql = c.kind === 'postgres'
    ? createPgClient({ connectionString: c.connectionString, ...(c.poolSize ? { max: c.poolSize } : {}), ...(c.source ? { source: c.source } : {}) })
    : await (await import('../../infra/sql/pgliteClient.js')).createPgliteClient({ ...(c.dataDir ? { dataDir: c.dataDir } : {}), ...(c.brief ? { brief: true } : {}) });
  try {
    // A reader migrates only a schema that is missing or behind (migrate.ts).
    const migrate = c.kind === 'postgres' && c.readOnly ? 'ifBehind' as const : true;
    return await openPostgresEventStore({ sql, ownsClient: true, migrate, ...(c.schema ? { schema: c.schema } : {}) });
  } catch (err) {
    await sql.close();
    throw err;
  }
}
