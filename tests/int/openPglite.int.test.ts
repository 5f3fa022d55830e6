import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { freshStoreTemplate } from '../../src/infra/sql/freshStoreTemplate.js';
import { openPglite } from '../../src/infra/sql/openPglite.js';

describe('openPglite: a new embedded store starts from the build’s fresh one', () => {
  const root = mkdtempSync(join(tmpdir(), 'cadre-open-pglite-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('the build made one for the installed PGlite, and a new folder opens from it with 16 MB of buffers, writes and reopens', async () => {
    // npm ci builds (prepare), and the build makes it: without it every new store runs initdb.
    expect(freshStoreTemplate()).not.toBeNull();
    const dir = join(root, 'new');
    const db = await openPglite(dir);
    expect((await db.query<{ shared_buffers: string }>('SHOW shared_buffers')).rows[0]!.shared_buffers).toBe('16MB');
    await db.exec('CREATE TABLE t (n int8); INSERT INTO t VALUES (42)');
    await db.close();
    expect(existsSync(join(dir, 'PG_VERSION'))).toBe(true);
    const again = await openPglite(dir, () => {
      throw new Error('an existing store must not be loaded over');
    });
    expect((await again.query<{ n: bigint }>('SELECT n FROM t')).rows).toEqual([{ n: 42n }]);
    await again.close();
  });

  it('a template it cannot start from is removed again and initdb makes the store; what the folder held stays', async () => {
    const dir = join(root, 'bad-template');
    mkdirSync(dir);
    writeFileSync(join(dir, 'keep.txt'), 'mine');
    const load = vi.fn(() => new Blob([gzipSync(new Uint8Array(4096).fill(7))]));
    const db = await openPglite(dir, load);
    expect(load).toHaveBeenCalledTimes(1);
    expect((await db.query<{ one: number }>('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    await db.close();
    expect(readFileSync(join(dir, 'keep.txt'), 'utf8')).toBe('mine');
  });

  it('in memory too', async () => {
    const db = await openPglite(undefined);
    expect((await db.query<{ n: bigint }>('SELECT 7::int8 AS n')).rows).toEqual([{ n: 7n }]);
    await db.close();
  });
});
