import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from '../../src/actors/ports/runtimePorts.js';
import { createTempRepo } from '../support/gitRepo.js';
import { testSystem } from '../support/system.js';

/**
 * With agent commands on and the key in cadre's environment, any allowed program that runs code
 * can read it from /proc/<pid>/environ: cadre says so at start, and not when the key came from
 * ANTHROPIC_API_KEY_FILE or commands are off.
 */
const repo = createTempRepo({ prefix: 'cadre-key-warning-' });
const dir = mkdtempSync(join(tmpdir(), 'cadre-key-warning-file-'));
afterAll(() => {
  repo.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

function recordingLogger(lines: string[]): Logger {
  const log: Logger = {
    debug: () => undefined,
    info: () => undefined,
    warn: (_o, msg) => void lines.push(msg ?? ''),
    error: () => undefined,
    child: () => log,
  };
  return log;
}

async function warningsFor(env: Record<string, string>, allowCommands: boolean): Promise<string[]> {
  const lines: string[] = [];
  // On the suite's Postgres, a fresh schema each: the warning is decided from the options and
  // the environment before any agent runs, whatever the store (src/system.ts). Three in-memory
  // PGlite databases made this one test 22.7 s of the suite.
  const system = await testSystem('postgres', { env, allowCommands, logger: recordingLogger(lines), model: { provider: 'offline' }, workspace: { repo: repo.path, basePath: repo.basePath } });
  await system.close();
  return lines.filter((l) => l.includes('ANTHROPIC_API_KEY'));
}

describe('the start-up warning about the key and agent commands', () => {
  it('warns when commands are on and the key is in the environment, only then', { timeout: 60_000 }, async () => {
    writeFileSync(join(dir, 'key'), 'sk-ant-in-a-file\n');
    expect(await warningsFor({ ANTHROPIC_API_KEY: 'sk-ant-in-env' }, true)).toEqual([expect.stringMatching(/any allowed program .* could read it from \/proc; use ANTHROPIC_API_KEY_FILE/)]);
    expect(await warningsFor({ ANTHROPIC_API_KEY: 'sk-ant-in-env' }, false)).toEqual([]);
    expect(await warningsFor({ ANTHROPIC_API_KEY_FILE: join(dir, 'key') }, true)).toEqual([]);
  });
});
