import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readEnv } from '../../src/infra/config.js';
import { loadDotEnv } from '../../src/infra/loadDotEnv.js';

const dir = mkdtempSync(join(tmpdir(), 'cadre-dotenv-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('EVENT_STORE', () => {
  it('takes "postgres" or a KurrentDB/EventStoreDB URL', () => {
    for (const v of ['postgres', 'kurrentdb://127.0.0.1:2113?tls=false', 'kurrent://h:2113', 'esdb://h:2113', 'esdb+discover://h:2113']) {
      expect(readEnv({ EVENT_STORE: v }).EVENT_STORE).toBe(v);
    }
  });

  it('refuses anything else naming the variable (a typo never falls back to the embedded store)', () => {
    for (const v of ['kurentdb://127.0.0.1:2113', 'postgres://localhost/db', 'kurrentdb://', 'PGLITE']) {
      expect(() => readEnv({ EVENT_STORE: v }), v).toThrow(/EVENT_STORE: expected "postgres" or a kurrentdb:\/\//);
    }
  });
});

describe('.env', () => {
  it('sets what the environment lacks, keeps what it has, and reads quotes and comments', () => {
    const file = join(dir, '.env');
    writeFileSync(file, '# cadre\nLOG_LEVEL=debug\nCADRE_DATA_DIR="/tmp/from file"\nCADRE_MODEL=claude-x # trailing\n');
    const target: Record<string, string | undefined> = { LOG_LEVEL: 'error' };
    expect(loadDotEnv(file, target).sort()).toEqual(['CADRE_DATA_DIR', 'CADRE_MODEL']);
    expect(target).toEqual({ LOG_LEVEL: 'error', CADRE_DATA_DIR: '/tmp/from file', CADRE_MODEL: 'claude-x' });
  });

  it('no file: nothing set', () => {
    const target: Record<string, string | undefined> = {};
    expect(loadDotEnv(join(dir, 'absent.env'), target)).toEqual([]);
    expect(target).toEqual({});
  });
});
