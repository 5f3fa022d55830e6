import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, inject, it } from 'vitest';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const VITEST = fileURLToPath(new URL('../../node_modules/vitest/vitest.mjs', import.meta.url));

interface Run { code: number | null; output: string }

/**
 * Runs one fixture file through vitest with the real global setup, as `npm test` would, and
 * returns its exit code. `databaseUrl` undefined means no DATABASE_URL: the setup starts an
 * embedded Postgres (whose exit hook once replaced vitest's exit code with 0).
 */
function runFixture(file: 'failing' | 'passing', databaseUrl: string | undefined): Promise<Run> {
  // Not this run's vitest variables: the child is a run of its own.
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('VITEST') && k !== 'DATABASE_URL' && k !== 'NODE_ENV'));
  if (databaseUrl) env.DATABASE_URL = databaseUrl;
  return new Promise((resolve) => {
    execFile(process.execPath, [VITEST, 'run', '--config', 'tests/fixtures/exitCode/vitest.config.ts', `${file}.fixture.ts`], { cwd: REPO, env, timeout: 120_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : null) : 0;
      resolve({ code, output: `${stdout}\n${stderr}` });
    });
  });
}

// The admin URL of the server this run uses (the per-run database's server, minus the database).
const serverUrl = (() => {
  const u = new URL(inject('pgUrl'));
  u.pathname = '/postgres';
  return u.toString();
})();

describe('npm test exits non-zero whenever a test fails', () => {
  for (const [how, url] of [['with DATABASE_URL', serverUrl], ['without DATABASE_URL (embedded Postgres)', undefined]] as const) {
    it(`${how}: a failing file exits non-zero, a passing one exits 0`, async () => {
      const [failing, passing] = await Promise.all([runFixture('failing', url), runFixture('passing', url)]);
      expect(failing.output).toMatch(/1 failed/);
      expect(failing.code, failing.output).not.toBe(0);
      expect(failing.code, failing.output).not.toBeNull();
      expect(passing.output).toMatch(/1 passed/);
      expect(passing.code, passing.output).toBe(0);
      expect(`${failing.output}${passing.output}`).toContain(url ? 'Postgres: DATABASE_URL' : 'Postgres: embedded Postgres');
    });
  }
});
