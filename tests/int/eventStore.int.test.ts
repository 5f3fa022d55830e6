import { createPgClient } from '../../src/infra/sql/pgClient.js';
import { createPgliteClient } from '../../src/infra/sql/pgliteClient.js';
import { openPostgresEventStore } from '../../src/events/stores/postgres/postgresEventStore.js';
import { eventStoreContract } from '../contract/eventStoreContract.js';
import { freshSchema, testPgUrl } from '../support/testDb.js';

eventStoreContract({
  name: 'pglite',
  open: async (o = {}) =>
    openPostgresEventStore({ sql: await createPgliteClient(), ownsClient: true, pollIntervalMs: 50, ...o }),
});

eventStoreContract({
  name: 'postgres',
  open: async (o = {}) =>
    openPostgresEventStore({
      sql: createPgClient({ connectionString: testPgUrl(), max: 12 }),
      ownsClient: true,
      schema: freshSchema('es'),
      pollIntervalMs: 50,
      ...o,
    }),
});
