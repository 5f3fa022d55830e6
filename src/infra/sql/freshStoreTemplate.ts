import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The fresh PGlite database the build made (scripts/makeStoreTemplate.mjs), for a new store to
 * start from instead of running initdb: measured here, a new store's first `cadre` command took
 * 5.5 s, 4.5 of them initdb in WASM; loading this copy takes ~1.3 s. Null when there is none (a
 * checkout not built yet), it is not the file the build wrote (its hash), or it was made with another
 * PGlite than the one installed, whose data folder may differ: then initdb makes the store, as before.
 */
export function freshStoreTemplate(): Blob | null {
  const { tarball, stamp } = templateFiles(packageRoot());
  try {
    const made = JSON.parse(readFileSync(stamp, 'utf8')) as Partial<TemplateStamp>;
    if (made.pglite !== pgliteVersion()) return null;
    const bytes = readFileSync(tarball);
    // Whole, as made: PGlite fed a cut or damaged gzip stream also throws from zlib outside its promise.
    if (sha256Of(bytes) !== made.sha256) return null;
    return new Blob([bytes]);
  } catch {
    return null;
  }
}

/** What the build writes beside the tarball to vouch for it (scripts/makeStoreTemplate.mjs). */
export interface TemplateStamp {
  readonly pglite: string;
  readonly sha256: string;
}

/** Where the build puts the fresh store, under the package's folder `root`. */
export const templateFiles = (root: string): { readonly tarball: string; readonly stamp: string } => ({
  tarball: join(root, 'dist', 'pglite', 'fresh-store.tar.gz'),
  stamp: join(root, 'dist', 'pglite', 'fresh-store.json'),
});

export const sha256Of = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

/** The folder holding cadre's package.json: from src/ (tsx), dist/ or dist/bundle/ alike. */
function packageRoot(): string {
  let d = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(d, 'package.json')) && dirname(d) !== d) d = dirname(d);
  return d;
}

/** The installed PGlite's version (its package.json is not among its exports, so by path). */
export function pgliteVersion(): string {
  let d = dirname(createRequire(import.meta.url).resolve('@electric-sql/pglite'));
  while (!existsSync(join(d, 'package.json')) && dirname(d) !== d) d = dirname(d);
  return (JSON.parse(readFileSync(join(d, 'package.json'), 'utf8')) as { version: string }).version;
}
