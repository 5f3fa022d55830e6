import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readEnv } from '../../src/infra/config.js';
import { loadDotEnv } from '../../src/infra/loadDotEnv.js';

const dir = mkdtempSync(join(tmpdir(), 'cadre-dotenv-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('EVENT_STORE', () => {
  it('takes counts as the CLI options do (10_000), and refuses other numbers naming the variable', () => {
    expect(readEnv({ DEFAULT_AGENT_TIMEOUT: '10_000', MAX_CONCURRENT_AGENTS: '8' })).toMatchObject({ DEFAULT_AGENT_TIMEOUT: 10_000, MAX_CONCURRENT_AGENTS: 8 });
    for (const v of ['0', '-1', '1.5', 'abc', '1e4', '10__000', ' 7'])
      expect(() => readEnv({ DEFAULT_AGENT_TIMEOUT: v }), v).toThrow(/DEFAULT_AGENT_TIMEOUT/);
    expect(() => readEnv({ MAX_CONCURRENT_AGENTS: '100_001' })).toThrow(/MAX_CONCURRENT_AGENTS: must be at most 100000/);
    expect(() => readEnv({ DEFAULT_AGENT_TIMEOUT: '0' })).toThrow(/DEFAULT_AGENT_TIMEOUT: must be at least 1/);
    // A week at most, as a spawn's timeoutMs: a larger default wrote an event no reader could parse back.
    expect(readEnv({ DEFAULT_AGENT_TIMEOUT: '604_800_000' }).DEFAULT_AGENT_TIMEOUT).toBe(604_800_000);
    for (const v of ['604800001', '9007199254740991', '99999999999999999999'])
      expect(() => readEnv({ DEFAULT_AGENT_TIMEOUT: v }), v).toThrow(/DEFAULT_AGENT_TIMEOUT: must be at most 604800000/);
  });

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

  it('refuses a file that would send the key, the traces or commands elsewhere, naming the variable; the environment’s own value stands', () => {
    for (const [key, value] of [['ANTHROPIC_BASE_URL', 'http://127.0.0.1:4690'], ['CADRE_ALLOW_COMMANDS', '1'], ['OTEL_EXPORTER_OTLP_ENDPOINT', 'https://collector.example'], ['OTEL_EXPORTER_OTLP_HEADERS', 'authorization=x']] as const) {
      const file = join(dir, `${key}.env`);
      writeFileSync(file, `LOG_LEVEL=debug\n${key}=${value}\n`);
      const target: Record<string, string | undefined> = { ANTHROPIC_API_KEY: 'sk-ant-from-the-shell' };
      expect(() => loadDotEnv(file, target), key).toThrow(new RegExp(`invalid configuration ${key}: .*may not`));
      expect(target, key).toEqual({ ANTHROPIC_API_KEY: 'sk-ant-from-the-shell' }); // nothing of the file taken
      // Set in the environment: the file's value is not used, so it is no threat.
      const own: Record<string, string | undefined> = { [key]: 'mine' };
      expect(loadDotEnv(file, own)).toEqual(['LOG_LEVEL']);
      expect(own[key]).toBe('mine');
    }
  });

  it('takes a store on this machine from a file, and refuses one elsewhere, naming the variable: the store holds every prompt, reply and tool output', () => {
    const local = ['postgres://u:p@127.0.0.1:5432/cadre', 'postgresql://localhost/cadre', 'postgres://[::1]:5432/x', 'postgres:///cadre?host=/var/run/postgresql', 'postgres'];
    for (const [key, value] of [...local.map((v) => ['DATABASE_URL', v] as const), ['EVENT_STORE', 'postgres'], ['EVENT_STORE', 'kurrentdb://localhost:2113?tls=false'], ['EVENT_STORE', 'esdb+discover://127.0.0.1:2113,localhost:2114']] as const) {
      const file = join(dir, 'local.env');
      writeFileSync(file, `${key}=${value}\n`);
      const target: Record<string, string | undefined> = {};
      expect(loadDotEnv(file, target), `${key}=${value}`).toEqual([key]);
    }
    const elsewhere = [['DATABASE_URL', 'postgres://u:p@127.0.0.1.evil.example:18799/loot'], ['DATABASE_URL', 'postgres://db.example.com/cadre'], ['DATABASE_URL', 'postgres:///x?host=db.example.com'], ['EVENT_STORE', 'kurrentdb://203.0.113.9:2113'], ['EVENT_STORE', 'esdb+discover://localhost:2113,evil.example:2113']] as const;
    for (const [key, value] of elsewhere) {
      const file = join(dir, 'remote.env');
      writeFileSync(file, `LOG_LEVEL=debug\n${key}=${value}\n`);
      const target: Record<string, string | undefined> = {};
      expect(() => loadDotEnv(file, target), value).toThrow(new RegExp(`invalid configuration ${key}: .*server on another machine`));
      expect(target, value).toEqual({});
      // Set in the environment, it is the user's own choice: the file's value is not read.
      expect(loadDotEnv(file, { [key]: 'postgres://db.example.com/mine' })).toEqual(['LOG_LEVEL']);
    }
  });

  it('takes ANTHROPIC_BASE_URL over https, or http to this machine only (the key travels with every request)', () => {
    for (const ok of ['https://api.anthropic.com', 'https://gateway.example:8443/v1', 'http://127.0.0.1:4690', 'http://localhost:8080', 'http://[::1]:9000']) {
      expect(readEnv({ ANTHROPIC_BASE_URL: ok }).ANTHROPIC_BASE_URL, ok).toBe(ok);
    }
    for (const bad of ['http://proxy.example.com', 'http://10.0.0.5:8080', 'http://127.0.0.1.evil.example', 'ftp://api.anthropic.com', 'http://localhost.evil.example']) {
      expect(() => readEnv({ ANTHROPIC_BASE_URL: bad }), bad).toThrow(/ANTHROPIC_BASE_URL: expected an https:\/\/ URL/);
    }
  });

  it('no file: nothing set', () => {
    const target: Record<string, string | undefined> = {};
    expect(loadDotEnv(join(dir, 'absent.env'), target)).toEqual([]);
    expect(target).toEqual({});
  });
});
