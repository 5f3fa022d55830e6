import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createEventStore } from '../../src/events/stores/createEventStore.js';
import { migrateRuntime } from '../../src/infra/postgres/runtimeTables.js';
import { runCadre } from '../support/cadreCli.js';

/**
 * `cadre tree` started while the first `cadre spawn` on a new folder was still creating the
 * store failed with `relation "cadre.actor_index" does not exist` (a new-user try, 3 times of 4).
 * Here this process holds the folder with the event store created and the runtime's tables not
 * yet: the read waits for them, then says there are no agents, as for a store not made yet.
 */
describe('a read command on an embedded store another process is still creating', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'cadre-read-creating-'));
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it('waits for the store to be set up and lists nothing, exit 0', async () => {
    const dataDir = join(scratch, 'db');
    const holder = await createEventStore({ kind: 'pglite', dataDir, schema: 'cadre' });
    try {
      const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', LOG_LEVEL: 'error', CADRE_DATA_DIR: dataDir };
      delete env.DATABASE_URL;
      delete env.EVENT_STORE;
      const tree = runCadre(['tree'], env);
      await new Promise((r) => setTimeout(r, 2_000)); // the reader is waiting on the holder by now
      await migrateRuntime(holder.sql, 'cadre');
      const r = await tree;
      expect(r.stderr).not.toMatch(/does not exist/);
      expect(r.code, r.stderr).toBe(0);
      expect(`${r.stdout}${r.stderr}`).toMatch(/no agents/);
    } finally {
      await holder.close();
    }
  }, 90_000);
});
