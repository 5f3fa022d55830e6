import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createAgentSystem, StoreLocked } from '../../src/index.js';
import { acquireStoreFolder, holderOf } from '../../src/infra/sql/storeFolderLock.js';
import { createPgliteClient } from '../../src/infra/sql/pgliteClient.js';
import { connectToHolder } from '../../src/infra/sql/forwardingClient.js';
import { openEmbeddedReader } from '../../src/infra/sql/embeddedReader.js';

/** The embedded store's folder lock and the holder's read-only query socket (issue 16, case 1). */
describe('embedded store folder lock', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cadre-lock-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('one holder at a time: the second is refused naming the folder and the holder; released, it is free', async () => {
    const folder = join(dir, 'a');
    const results = await Promise.allSettled([acquireStoreFolder(folder), acquireStoreFolder(folder)]);
    const won = results.filter((r) => r.status === 'fulfilled');
    const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(1);
    expect(lost[0]!.reason).toBeInstanceOf(StoreLocked);
    expect((lost[0]!.reason as StoreLocked).holder).toMatchObject({ pid: process.pid, folder });
    expect((lost[0]!.reason as Error).message).toContain(folder);
    expect(await holderOf(folder)).toMatchObject({ pid: process.pid });
    await (won[0] as PromiseFulfilledResult<Awaited<ReturnType<typeof acquireStoreFolder>>>).value.release();
    expect(await holderOf(folder)).toBeNull();
    const again = await acquireStoreFolder(folder);
    await again.release();
  });

  it('a writer waits for a brief holder (a read command that found the folder free) instead of being refused; not past its wait', async () => {
    const folder = join(dir, 'brief');
    const reader = await acquireStoreFolder(folder, { brief: true });
    let taken = false;
    const writer = acquireStoreFolder(folder).then((l) => {
      taken = true;
      return l;
    });
    // Still waiting while the reader holds the folder: asked who holds it, the reader answers.
    expect(await holderOf(folder)).toMatchObject({ pid: process.pid, brief: true });
    expect(taken).toBe(false);
    await reader.release();
    const lock = await writer;
    expect(await holderOf(folder)).toMatchObject({ pid: process.pid });
    expect((await holderOf(folder))!.brief).toBeUndefined();
    // A writer is never brief: another writer is refused at once, and a brief wait has its end.
    await expect(acquireStoreFolder(folder)).rejects.toBeInstanceOf(StoreLocked);
    await lock.release();
    const held = await acquireStoreFolder(folder, { brief: true });
    await expect(acquireStoreFolder(folder, { briefWaitMs: 300 })).rejects.toBeInstanceOf(StoreLocked);
    await held.release();
  });

  it('readers query through the holder: bigint, Date, bytes and JSON come back typed; every write is refused', async () => {
    const folder = join(dir, 'b');
    const holder = await createPgliteClient({ dataDir: folder });
    try {
      await holder.exec(`CREATE TABLE t (n bigint, at timestamptz, b bytea, j jsonb); INSERT INTO t VALUES (9007199254740993, '2026-12-03T08:00:00.5Z', '\\x00ff', '{"$cadre":"x","k":[1]}')`);
      await expect(createPgliteClient({ dataDir: folder })).rejects.toBeInstanceOf(StoreLocked);
      const reader = await connectToHolder(folder);
      try {
        const { rows } = await reader.query<{ n: bigint; at: Date; b: Uint8Array; j: unknown }>('SELECT n, at, b, j FROM t WHERE n > $1', [1n]);
        expect(rows).toHaveLength(1);
        expect(rows[0]!.n).toBe(9_007_199_254_740_993n);
        expect(rows[0]!.at.toISOString()).toBe('2026-12-03T08:00:00.500Z');
        expect([...rows[0]!.b]).toEqual([0, 255]);
        expect(rows[0]!.j).toEqual({ $cadre: 'x', k: [1] });
        // Postgres refuses writes in the holder's READ ONLY transaction, whatever the text.
        await expect(reader.query('INSERT INTO t (n) VALUES (1)')).rejects.toMatchObject({ code: '25006' });
        await expect(reader.query('WITH d AS (DELETE FROM t RETURNING n) SELECT count(*) FROM d')).rejects.toMatchObject({ code: '25006' });
        await expect(reader.query('SELECT n FROM t FOR UPDATE')).rejects.toMatchObject({ code: '25006' });
        await expect(reader.transaction(async () => 1)).rejects.toThrow(/read-only/);
        await expect(reader.exec('DROP TABLE t')).rejects.toThrow(/read-only/);
        expect((await holder.query<{ c: bigint }>('SELECT count(*) AS c FROM t')).rows[0]!.c).toBe(1n);
      } finally {
        await reader.close();
      }
    } finally {
      await holder.close();
    }
    // Closed: the folder is free again, and what was written is there.
    const next = await createPgliteClient({ dataDir: folder });
    expect((await next.query<{ c: bigint }>('SELECT count(*) AS c FROM t')).rows[0]!.c).toBe(1n);
    await next.close();
  });

  it('a reader whose holder closes follows the store: the next query takes the folder (or goes to its new holder) and gets the same rows', async () => {
    const folder = join(dir, 'handover');
    const holder = await createPgliteClient({ dataDir: folder });
    await holder.exec(`CREATE TABLE t (n int); INSERT INTO t VALUES (1), (2), (3)`);
    const reader = await openEmbeddedReader(folder);
    const reader2 = await openEmbeddedReader(folder);
    try {
      expect((await reader.query<{ s: number }>('SELECT sum(n)::int AS s FROM t')).rows).toEqual([{ s: 6 }]);
      // A query in flight when its holder goes: its connection drops; it is answered elsewhere.
      const inFlight = reader2.query<{ s: number }>('SELECT sum(n)::int AS s FROM t, pg_sleep(0.2)');
      await holder.close();
      expect((await inFlight).rows).toEqual([{ s: 6 }]);
      expect((await reader.query<{ s: number }>('SELECT sum(n)::int AS s FROM t')).rows).toEqual([{ s: 6 }]);
      // A statement's own error is not a lost holder: it comes back as it is, not retried.
      await expect(reader.query('SELECT * FROM missing_table')).rejects.toMatchObject({ code: '42P01' });
      await expect(reader.exec('DELETE FROM t')).rejects.toThrow(/read-only/);
    } finally {
      // The one that took the folder over is a brief holder: it serves the other until it closes.
      await Promise.all([reader.close(), reader2.close()]);
    }
    expect(await holderOf(folder)).toBeNull();
  });

  it('createAgentSystem(): a second system on a held folder gets StoreLocked; a read-only one reads through the holder; peekMessages writes nothing', async () => {
    const folder = join(dir, 'c');
    const env = {};
    const holder = await createAgentSystem({ store: { kind: 'pglite', dataDir: folder }, env, model: { provider: 'offline' } });
    try {
      const a = await holder.spawn({ role: 'a', task: 't', budget: 1000 });
      const b = await holder.spawn({ role: 'b', task: 't', budget: 1000 });
      await a.sendMessage(b.id, { text: 'hi' });
      await expect(createAgentSystem({ store: { kind: 'pglite', dataDir: folder }, env })).rejects.toThrow(/in use by process \d+/);

      const reader = await createAgentSystem({ store: { kind: 'pglite', dataDir: folder }, env, readOnly: true });
      try {
        expect((await reader.internal.runtime.state(b.id)).role).toBe('b');
        const before = (await reader.history(b.id)).length;
        for (let i = 0; i < 6; i++) expect(await reader.get(b.id).peekMessages()).toEqual([expect.objectContaining({ from: a.id, payload: { text: 'hi' }, attempts: 0, state: 'pending' })]);
        expect((await holder.history(b.id)).length).toBe(before);
        await expect(reader.spawn({ role: 'x', task: 't', budget: 10 })).rejects.toThrow();
      } finally {
        await reader.close();
      }
      const got = await b.receiveMessages();
      expect(got).toEqual([expect.objectContaining({ payload: { text: 'hi' }, attempt: 1 })]);
    } finally {
      await holder.close();
    }
  });
});
