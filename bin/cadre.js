#!/usr/bin/env node
// Runs the built CLI (dist/bundle/, made by `npm run build`, which `npm ci` runs through `prepare`)
// unless the source is newer than it: then the TypeScript source through tsx (a dev dependency),
// so a checkout being edited never runs a stale build. An installed package has no src/ and
// always runs dist/.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
// The bundle (scripts/bundleCli.mjs) starts faster than the compiled modules it is made from.
const built = [join(root, 'dist', 'bundle', 'main.js'), join(root, 'dist', 'cli', 'main.js')].find((f) => existsSync(f)) ?? '';
const source = join(root, 'src');

/** True when some file under src/ changed after dist/ was built (a few ms for ~350 files). */
function sourceNewerThan(mtimeMs) {
  const dirs = [source];
  while (dirs.length > 0) {
    const dir = dirs.pop();
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) dirs.push(path);
      else if (statSync(path).mtimeMs > mtimeMs) return true;
    }
  }
  return false;
}

const stamp = join(root, 'dist', '.built');
const useBuild = existsSync(built) && existsSync(stamp) && !(existsSync(source) && sourceNewerThan(statSync(stamp).mtimeMs));
if (useBuild) {
  await import(pathToFileURL(built).href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import(pathToFileURL(join(source, 'cli', 'main.ts')).href);
}
