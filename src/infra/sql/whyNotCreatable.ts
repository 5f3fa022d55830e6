import { accessSync, constants, statSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * Why a folder that does not exist yet could not be made here, or null when it could: the
 * nearest part of its path that exists must be a folder this user may write in. A read on such a
 * path said "no store yet: a write creates it", and the write then failed (a new user's try, with
 * the folder under a file).
 *
 * @example
 * whyNotCreatable('/etc/passwd/.cadre'); // 'ENOTDIR: /etc/passwd is a file, not a folder'
 */
export function whyNotCreatable(folder: string): string | null {
  let at = dirname(folder);
  for (;;) {
    let isFolder: boolean;
    try {
      isFolder = statSync(at).isDirectory();
    } catch {
      const up = dirname(at);
      if (up === at) return null;
      at = up;
      continue;
    }
    if (!isFolder) return `ENOTDIR: ${at} is a file, not a folder`;
    try {
      accessSync(at, constants.W_OK | constants.X_OK);
      return null;
    } catch {
      return `EACCES: this user may not create folders in ${at}`;
    }
  }
}
