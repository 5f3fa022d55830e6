import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { PGlite, type PGliteOptions } from '@electric-sql/pglite';
import { freshStoreTemplate } from './freshStoreTemplate.js';

const INT8_OID = 20;

/**
 * 16 MB of shared buffers instead of PostgreSQL's 128: PGlite zeroes them in WASM at every open,
 * and every `cadre` command on the embedded store opens it. Measured here: opening a store took
 * 0.85-0.90 s with 128 MB, 0.48-0.53 s with 16 MB (32 MB: 0.61, 64 MB: 0.86); `cadre tree` went
 * from 1.2 to 0.84 s and `cadre demo` was no slower (6.9-7.1 s against 7.35-7.4 s). Pages not in
 * them are a read of the folder away, which the OS caches.
 */
const START_PARAMS = [...PGlite.defaultStartParams, '-c', 'shared_buffers=16MB'];

/**
 * PGlite on `dataDir` (absent: in memory), int8 read as bigint. A new store starts from the
 * build's fresh one (`fresh`) when there is one.
 */
export async function openPglite(dataDir: string | undefined, fresh: () => Blob | null = freshStoreTemplate): Promise<PGlite> {
  const options: PGliteOptions = { parsers: { [INT8_OID]: (v: string) => BigInt(v) }, startParams: START_PARAMS };
  const isNew = !dataDir || !existsSync(join(dataDir, 'PG_VERSION'));
  const template = isNew ? fresh() : null;
  if (!template) return PGlite.create(dataDir ?? 'memory://', options);
  const before = new Set(dataDir && existsSync(dataDir) ? readdirSync(dataDir) : []);
  try {
    return await PGlite.create(dataDir ?? 'memory://', { ...options, loadDataDir: template });
  } catch {
    // A template this PGlite could not start from: what it unpacked goes (the folder held no
    // database, so nothing else is touched), and initdb makes the store as it did before.
    if (dataDir) for (const entry of readdirSync(dataDir)) if (!before.has(entry)) rmSync(join(dataDir, entry), { recursive: true, force: true });
    return PGlite.create(dataDir ?? 'memory://', options);
  }
}
