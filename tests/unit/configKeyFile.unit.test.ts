import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readEnv } from '../../src/infra/config.js';

/** ANTHROPIC_API_KEY_FILE: the key read once from a file, so it need not sit in cadre's environment. */
const dir = mkdtempSync(join(tmpdir(), 'cadre-keyfile-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('ANTHROPIC_API_KEY_FILE', () => {
  it('reads the key from the file (trailing newline trimmed)', () => {
    writeFileSync(join(dir, 'key'), 'sk-ant-from-file\n');
    expect(readEnv({ ANTHROPIC_API_KEY_FILE: join(dir, 'key') }).ANTHROPIC_API_KEY).toBe('sk-ant-from-file');
  });

  it('names the variable when the file cannot be read or is empty, or both ways are set', () => {
    expect(() => readEnv({ ANTHROPIC_API_KEY_FILE: join(dir, 'missing') })).toThrow(/ANTHROPIC_API_KEY_FILE: cannot read .*ENOENT/);
    writeFileSync(join(dir, 'empty'), '\n');
    expect(() => readEnv({ ANTHROPIC_API_KEY_FILE: join(dir, 'empty') })).toThrow(/ANTHROPIC_API_KEY_FILE: .* is empty/);
    expect(() => readEnv({ ANTHROPIC_API_KEY_FILE: join(dir, 'key'), ANTHROPIC_API_KEY: 'x' })).toThrow(/ANTHROPIC_API_KEY_FILE: set either/);
  });
});
