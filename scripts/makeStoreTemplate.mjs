// A new embedded store starts from a copy of a fresh PGlite database made here at build time,
// instead of running initdb: initdb in WASM took ~4.5 s of a new store's first command on these
// machines, loading this copy ~1.3 s (src/infra/sql/freshStoreTemplate.ts reads it, and names
// the files and the stamp this writes). Made again only when the installed PGlite is not the one
// it was made with. Runs after tsc (finishBuild.mjs), so the compiled module is there to import.
import { Buffer } from 'node:buffer';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pgliteVersion, sha256Of, templateFiles } from '../dist/infra/sql/freshStoreTemplate.js';

const { tarball, stamp } = templateFiles('.');
const version = pgliteVersion();
const made = existsSync(stamp) && existsSync(tarball) ? JSON.parse(readFileSync(stamp, 'utf8')) : null;
if (made?.pglite !== version || typeof made.sha256 !== 'string') {
  const { PGlite } = await import('@electric-sql/pglite');
  const work = mkdtempSync(join(tmpdir(), 'cadre-store-template-'));
  try {
    const db = await PGlite.create(join(work, 'db'));
    const blob = await db.dumpDataDir('gzip');
    await db.close();
    mkdirSync(dirname(tarball), { recursive: true });
    // The tarball first, then the stamp that vouches for it, each whole (rename).
    const bytes = Buffer.from(await blob.arrayBuffer());
    writeFileSync(`${tarball}.tmp`, bytes);
    renameSync(`${tarball}.tmp`, tarball);
    writeFileSync(`${stamp}.tmp`, `${JSON.stringify({ pglite: version, sha256: sha256Of(bytes) })}\n`);
    renameSync(`${stamp}.tmp`, stamp);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
