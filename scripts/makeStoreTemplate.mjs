// A new embedded store starts from a copy of a fresh PGlite database made here at build time,
// instead of running initdb: initdb in WASM took ~4.5 s of a new store's first command on these
// machines, loading this copy ~1.3 s (src/infra/sql/freshStoreTemplate.ts reads it). Made again
// only when the installed PGlite is not the one it was made with.
import { Buffer } from 'node:buffer';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

const dir = 'dist/pglite';
const stamp = join(dir, 'fresh-store.json');
const tarball = join(dir, 'fresh-store.tar.gz');

/** The installed PGlite's version, from its package.json beside its entry point. */
function pgliteVersion() {
  let d = dirname(createRequire(import.meta.url).resolve('@electric-sql/pglite'));
  while (!existsSync(join(d, 'package.json'))) d = dirname(d);
  return JSON.parse(readFileSync(join(d, 'package.json'), 'utf8')).version;
}

const version = pgliteVersion();
const made = existsSync(stamp) && existsSync(tarball) ? JSON.parse(readFileSync(stamp, 'utf8')) : null;
if (made?.pglite !== version || typeof made.sha256 !== 'string') {
  const { PGlite } = await import('@electric-sql/pglite');
  const work = mkdtempSync(join(tmpdir(), 'cadre-store-template-'));
  try {
    const db = await PGlite.create(join(work, 'db'));
    const blob = await db.dumpDataDir('gzip');
    await db.close();
    mkdirSync(dir, { recursive: true });
    // The tarball first, then the stamp that vouches for it, each whole (rename).
    const bytes = Buffer.from(await blob.arrayBuffer());
    writeFileSync(`${tarball}.tmp`, bytes);
    renameSync(`${tarball}.tmp`, tarball);
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    writeFileSync(`${stamp}.tmp`, `${JSON.stringify({ pglite: version, sha256 })}\n`);
    renameSync(`${stamp}.tmp`, stamp);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
