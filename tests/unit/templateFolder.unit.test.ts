import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../../src/errors.js';
import { loadTemplates } from '../../src/workflows/templateLoader.js';
import { thrownText } from '../../src/infra/thrownText.js';
import { readEnv } from '../../src/infra/config.js';

describe('the user templates folder', () => {
  it('a folder a setting names must exist (a typo hid its templates, exit 0); the default may be absent', async () => {
    const missing = join(tmpdir(), 'cadre-no-such-templates-folder');
    await expect(loadTemplates({ userDir: missing, userDirSetting: 'CADRE_TEMPLATES_DIR' })).rejects.toThrow(ConfigError);
    await expect(loadTemplates({ userDir: missing, userDirSetting: 'CADRE_TEMPLATES_DIR' })).rejects.toThrow(/CADRE_TEMPLATES_DIR: no templates folder ".*cadre-no-such-templates-folder"/);
    const builtins = (await loadTemplates({ userDir: missing })).list().length;
    expect(builtins).toBeGreaterThan(0);
    const dir = mkdtempSync(join(tmpdir(), 'cadre-templates-'));
    writeFileSync(join(dir, 'mine.json'), JSON.stringify({ id: 'mine-workflow', name: 'Mine', description: 'mine', nodes: [{ id: 'a', role: 'implementer', task: 'do it', budgetPercent: 50, dependencies: [] }] }));
    expect((await loadTemplates({ userDir: dir, userDirSetting: 'CADRE_TEMPLATES_DIR' })).list()).toHaveLength(builtins + 1);
  });
});

describe('errors in words', () => {
  it('says what was thrown, whatever it was (PGlite throws plain objects: "[object Object]")', () => {
    expect(thrownText(Object.assign(new Error('file already exists, mkdir /dev/null'), { code: 'EEXIST' }))).toBe('EEXIST: file already exists, mkdir /dev/null');
    expect(thrownText(Object.assign(new Error('EEXIST: file already exists'), { code: 'EEXIST' }))).toBe('EEXIST: file already exists');
    expect(thrownText({ name: 'ErrnoError', errno: 44 })).toBe('{"name":"ErrnoError","errno":44}');
    expect(thrownText({ message: 'no such file' })).toBe('no such file');
    expect(thrownText('plain')).toBe('plain');
  });

  it('refuses a DATABASE_URL sslmode Postgres does not know, naming the setting (pg tried TLS and said only that the server has none)', () => {
    expect(() => readEnv({ DATABASE_URL: 'postgres://u@h:5432/d?sslmode=bogus' })).toThrow(/DATABASE_URL: sslmode must be one of disable, allow, prefer, require/);
    for (const mode of ['disable', 'require', 'verify-full', 'no-verify']) expect(readEnv({ DATABASE_URL: `postgres://u@h:5432/d?sslmode=${mode}` }).DATABASE_URL, mode).toContain(mode);
  });
});
