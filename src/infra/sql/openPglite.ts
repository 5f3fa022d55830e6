import { chmodSync, existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PGlite, type PGliteOptions } from '@electric-sql/pglite';
import { freshStoreTemplate } from './freshStoreTemplate.js';
import { NotAStoreFolder } from './notAStoreFolder.js';

const INT8_OID = 20;

/**
 * 16 MB of shared buffers instead of PostgreSQL's 128: PGlite zeroes them in WASM at every open,
 * and every `cadre` command on the embedded store opens it. Measured here: opening a store took
 * 0.85-0.90 s with 128 MB, 0.48-0.53 s with 16 MB (32 MB: 0.61, 64 MB: 0.86); `cadre tree` went
 * from 1.2 to 0.84 s and `cadre demo` was no slower (6.9-7.1 s against 7.35-7.4 s). Pages not in
 * them are a read of the folder away, which the OS caches.
 */
const START_PARAMS = [...PGlite.defaultStartParams, '-c', 'shared_buffers=16MB'];

/** Written before a new store is made in a folder and removed once it opened: while it is there, the store is half-made. */
export const CREATING_MARKER = '.cadre-creating';

/**
 * PGlite on `dataDir` (absent: in memory), int8 read as bigint. The caller holds the folder's
 * lock (storeFolderLock.ts). A new store starts from the build's fresh one (`fresh`) when there
 * is one, else initdb makes it; either way `CREATING_MARKER` marks it until it opened, so a
 * process killed while making it (a new-user try: SIGKILL 1.8 s into a first `spawn` left a
 * folder no command could open again) leaves one the next process makes again. The folder is
 * kept 0700, as Postgres keeps its own: PGlite writes its files readable and writable by all.
 */
export async function openPglite(dataDir: string | undefined, fresh: () => Blob | null = freshStoreTemplate): Promise<PGlite> {
  const options: PGliteOptions = { parsers: { [INT8_OID]: (v: string) => BigInt(v) }, startParams: START_PARAMS };
  // The build's fresh store when there is one and this PGlite starts from it; else initdb.
  const makeFresh = async (path: string, clearFailed: () => void): Promise<PGlite> => {
    const template = fresh();
    if (template) {
      try {
        return await PGlite.create(path, { ...options, loadDataDir: template });
      } catch {
        clearFailed();
      }
    }
    return PGlite.create(path, options);
  };
  if (!dataDir) return makeFresh('memory://', () => {});
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const marker = join(dataDir, CREATING_MARKER);
  if (existsSync(join(dataDir, 'PG_VERSION')) && !existsSync(marker)) {
    keepPrivate(dataDir);
    return PGlite.create(dataDir, options);
  }
  if (existsSync(marker)) clearHalfMade(dataDir);
  else {
    const entries = readdirSync(dataDir).filter((e) => !isOurs(e));
    if (entries.length > 0) throw new NotAStoreFolder(dataDir, entries);
  }
  writeFileSync(marker, `${process.pid}\n`);
  keepPrivate(dataDir);
  // What a template PGlite could not start from unpacked goes before initdb.
  const db = await makeFresh(dataDir, () => clearHalfMade(dataDir));
  rmSync(marker, { force: true });
  return db;
}

/** cadre's own entries in a store folder: the marker, and the holder's socket where it is a file (macOS). */
const isOurs = (entry: string): boolean => entry === CREATING_MARKER || entry.startsWith('.holder');

/** Everything a half-made store left, not cadre's own entries: the folder held nothing else when it was begun. */
function clearHalfMade(dataDir: string): void {
  for (const entry of readdirSync(dataDir)) if (!isOurs(entry)) rmSync(join(dataDir, entry), { recursive: true, force: true });
}

/** Others lose access to the folder (a store made before this kept 0755); a folder not ours to change is left. */
function keepPrivate(dataDir: string): void {
  try {
    if ((statSync(dataDir).mode & 0o077) !== 0) chmodSync(dataDir, 0o700);
  } catch {
    // Not ours to change: left as it is.
  }
}
