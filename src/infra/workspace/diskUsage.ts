import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Bytes allocated on disk under `path` (like `du -s`), without following symlinks.
 * A missing path counts 0; entries that vanish during the walk are skipped.
 *
 * @example
 * await diskUsage('/worktrees/a1'); // 184320
 */
export async function diskUsage(path: string): Promise<number> {
  let st;
  try {
    st = await lstat(path);
  } catch {
    return 0;
  }
  // `blocks` is what the file really occupies; some file systems report 0 blocks.
  const own = st.blocks > 0 ? st.blocks * 512 : st.size;
  if (!st.isDirectory()) return own;
  let names: string[];
  try {
    names = await readdir(path);
  } catch {
    return own;
  }
  const sizes = await Promise.all(names.map((n) => diskUsage(join(path, n))));
  return sizes.reduce((a, b) => a + b, own);
}
