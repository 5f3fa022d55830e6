import { readdir, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Deletes git lock files older than `olderThanMs` that a killed git process left behind in
 * the places cadre's operations lock: the common dir (`config.lock`, `packed-refs.lock`,
 * `index.lock`), `refs/heads/agents/**`, and each `worktrees/<name>/`. Git holds its locks
 * for milliseconds, so an old one has no owner; without this, every later operation on
 * that ref or worktree would fail with "File exists". Returns the files removed.
 *
 * @example
 * await removeStaleLocks('/repo/.git', 30_000);
 */
export async function removeStaleLocks(commonDir: string, olderThanMs: number): Promise<string[]> {
  const candidates = [
    ...['config.lock', 'packed-refs.lock', 'index.lock', 'HEAD.lock'].map((f) => join(commonDir, f)),
    ...(await locksUnder(join(commonDir, 'refs', 'heads', 'agents'), true)),
  ];
  const worktrees = join(commonDir, 'worktrees');
  for (const name of await names(worktrees)) candidates.push(...(await locksUnder(join(worktrees, name), false)));

  const now = Date.now();
  const removed: string[] = [];
  for (const file of candidates) {
    try {
      const st = await stat(file);
      if (now - st.mtimeMs >= olderThanMs) {
        await unlink(file);
        removed.push(file);
      }
    } catch {
      // Gone already, or never there.
    }
  }
  return removed;
}

async function names(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch {
    return [];
  }
}

async function locksUnder(dir: string, recursive: boolean): Promise<string[]> {
  const out: string[] = [];
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return out;
  }
  for (const e of entries) {
    const full = join(dir, e.name);
    if (e.isFile() && e.name.endsWith('.lock')) out.push(full);
    else if (recursive && e.isDirectory()) out.push(...(await locksUnder(full, true)));
  }
  return out;
}
