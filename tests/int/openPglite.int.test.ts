import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { freshStoreTemplate } from '../../src/infra/sql/freshStoreTemplate.js';
import { NotAStoreFolder } from '../../src/infra/sql/notAStoreFolder.js';
import { CREATING_MARKER, openPglite } from '../../src/infra/sql/openPglite.js';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const CHILD = fileURLToPath(new URL('../support/openPgliteChild.ts', import.meta.url));

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

  it('a template it cannot start from is cleared away and initdb makes the store', async () => {
    const dir = join(root, 'bad-template');
    const load = vi.fn(() => new Blob([gzipSync(new Uint8Array(4096).fill(7))]));
    const db = await openPglite(dir, load);
    expect(load).toHaveBeenCalledTimes(1);
    expect((await db.query<{ one: number }>('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    await db.close();
    expect(existsSync(join(dir, CREATING_MARKER))).toBe(false);
  });

  it('a folder holding files and no store is refused, naming them, and left as it was', async () => {
    const dir = join(root, 'theirs');
    mkdirSync(dir);
    writeFileSync(join(dir, 'postgresql.conf'), 'my config');
    writeFileSync(join(dir, 'notes.txt'), 'mine');
    await expect(openPglite(dir)).rejects.toThrow(NotAStoreFolder);
    await expect(openPglite(dir)).rejects.toThrow(/holds files and no cadre store \(notes\.txt, postgresql\.conf\)/);
    expect(readdirSync(dir).sort()).toEqual(['notes.txt', 'postgresql.conf']);
    expect(readFileSync(join(dir, 'postgresql.conf'), 'utf8')).toBe('my config');
  });

  it('a store whose making was cut off (its marker still there) is made again; the folder is private (0700)', async () => {
    const dir = join(root, 'half-made');
    mkdirSync(dir, { mode: 0o755 });
    // What a process killed while unpacking leaves: the marker, PG_VERSION and part of base/.
    writeFileSync(join(dir, CREATING_MARKER), '1\n');
    writeFileSync(join(dir, 'PG_VERSION'), '17\n');
    mkdirSync(join(dir, 'base', '1'), { recursive: true });
    writeFileSync(join(dir, 'base', '1', '1259'), 'cut off');
    const db = await openPglite(dir);
    await db.exec('CREATE TABLE t (n int)');
    await db.close();
    expect(existsSync(join(dir, CREATING_MARKER))).toBe(false);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    const again = await openPglite(dir);
    expect((await again.query('SELECT count(*)::int AS n FROM t')).rows).toEqual([{ n: 0 }]);
    await again.close();
  });

  it('a process SIGKILLed while it makes a new store leaves a folder the next one makes again', async () => {
    const dir = join(root, 'killed');
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, dir], { cwd: REPO, stdio: ['ignore', 'pipe', 'inherit'] });
    const exited = new Promise((resolve) => child.on('exit', resolve));
    // Killed while it unpacks: PG_VERSION comes early, with part of base/ (what a new user's
    // first `spawn` killed 1.8 s in left: no command could open that folder again).
    while (!existsSync(join(dir, 'PG_VERSION'))) await new Promise((r) => setTimeout(r, 2));
    child.kill('SIGKILL');
    await exited;
    const db = await openPglite(dir);
    expect((await db.query<{ one: number }>('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    await db.close();
    expect(existsSync(join(dir, CREATING_MARKER))).toBe(false);
  });

  it('in memory too', async () => {
    const db = await openPglite(undefined);
    expect((await db.query<{ n: bigint }>('SELECT 7::int8 AS n')).rows).toEqual([{ n: 7n }]);
    await db.close();
  });
});
