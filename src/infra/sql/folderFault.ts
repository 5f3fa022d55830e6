import { thrownText } from '../thrownText.js';

/**
 * PGlite's errors from the folder are plain objects with an Emscripten errno (`{"name":"ErrnoError","errno":2}`
 * told a new user nothing): the ones a folder gives, named as Node names them.
 */
const EMSCRIPTEN_ERRNO: Record<number, string> = {
  2: 'EACCES: permission denied',
  20: 'EEXIST: file already exists',
  44: 'ENOENT: no such file or directory',
  51: 'ENOSPC: no space left on device',
  54: 'ENOTDIR: not a directory',
  63: 'EPERM: operation not permitted',
  69: 'EROFS: read-only file system',
};

/**
 * What went wrong with a store folder, in words: PGlite's errno objects named, anything else as thrownText.
 *
 * @example
 * folderFault({ name: 'ErrnoError', errno: 2 }); // 'EACCES: permission denied'
 */
export function folderFault(err: unknown): string {
  const errno = typeof err === 'object' && err !== null && (err as { name?: unknown }).name === 'ErrnoError' ? (err as { errno?: unknown }).errno : undefined;
  return (typeof errno === 'number' && EMSCRIPTEN_ERRNO[errno]) || thrownText(err);
}
