import { describe, expect, it } from 'vitest';
import { folderFault } from '../../src/infra/sql/folderFault.js';

describe('folderFault: what went wrong with a store folder, in words', () => {
  it('names PGlite’s errno objects as Node names the error, and leaves the rest to thrownText', () => {
    expect(folderFault({ name: 'ErrnoError', errno: 2 })).toBe('EACCES: permission denied');
    expect(folderFault({ name: 'ErrnoError', errno: 69 })).toBe('EROFS: read-only file system');
    expect(folderFault({ name: 'ErrnoError', errno: 999 })).toBe('{"name":"ErrnoError","errno":999}');
    expect(folderFault(Object.assign(new Error('permission denied'), { code: 'EACCES' }))).toBe('EACCES: permission denied');
  });
});
