import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** The git repository around `dir` (its top folder), or null outside one. */
export function findGitRoot(dir: string): string | null {
  for (let d = dir; ; d = dirname(d)) {
    if (existsSync(join(d, '.git'))) return d;
    if (dirname(d) === d) return null;
  }
}
