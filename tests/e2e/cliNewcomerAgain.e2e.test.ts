import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCadre, spawnWithCli, type CliRun } from '../support/cadreCli.js';
import { startFakeMessagesApi } from '../support/fakeMessagesApi.js';
import { createTempRepo } from '../support/gitRepo.js';

/**
 * What a second newcomer still tripped over (issue 18), through the real bin: folders made for
 * worktrees nobody asked for, a live line that said "waiting" during a model call, numbers too
 * large for their option, empty tasks, `replay` without `--to`, and a raw-JSON inbox.
 */
const scratch = mkdtempSync(join(tmpdir(), 'cadre-newcomer-again-'));

function baseEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', LOG_LEVEL: 'error', ...extra };
  for (const k of ['DATABASE_URL', 'EVENT_STORE', 'ANTHROPIC_API_KEY', 'ANTHROPIC_BASE_URL', 'CADRE_DATA_DIR', 'WORKSPACE_REPO', 'WORKSPACE_BASE_PATH']) if (!(k in extra)) delete env[k];
  return env;
}

const cadre = (...args: string[]): Promise<CliRun> => runCadre(args, baseEnv({ CADRE_DATA_DIR: join(scratch, 'db') }));

describe('a newcomer at the CLI, again', () => {
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it('makes no worktree folder until a worktree is made: not for a plain run, nor for listing or cleaning up', async () => {
    const repo = createTempRepo({ prefix: 'cadre-lazy-base-' });
    try {
      const env = baseEnv({ CADRE_DATA_DIR: join(scratch, 'dblazy'), WORKSPACE_BASE_PATH: repo.basePath });
      const run = await runCadre(['run', 'Add a helper', '--template', 'tdd-workflow', '--budget', '100000'], env, { cwd: repo.path });
      expect(run.code, run.stderr).toBe(0);
      for (const args of [['workspaces', 'list'], ['workspaces', 'cleanup', '--dry-run'], ['workspaces', 'cleanup']]) {
        const r = await runCadre(args, env, { cwd: repo.path });
        expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
      }
      expect(existsSync(repo.basePath)).toBe(false);
      // The default folder beside the repository, likewise.
      expect(existsSync(join(repo.dir, '.cadre-worktrees'))).toBe(false);

      const ws = await runCadre(['spawn', '--role', 'writer', '--task', 'Write NOTES.md', '--budget', '10000', '--workspace', '--run', '--json'], env, { cwd: repo.path });
      expect(ws.code, ws.stderr).toBe(0);
      expect(existsSync(repo.basePath)).toBe(true); // made when the first worktree was
    } finally {
      repo.cleanup();
    }
  }, 240_000);

  it('the live progress says "calling model" during a model call (it said "waiting"), and writes no control codes into a pipe', async () => {
    const api = await startFakeMessagesApi();
    try {
      api.setFallback(() => ({ kind: 'message', delayMs: 1500, message: { content: [{ type: 'text', text: 'done' }], stopReason: 'end_turn', usage: { input_tokens: 10, output_tokens: 5 } } }));
      const env = baseEnv({ CADRE_DATA_DIR: join(scratch, 'dblive'), ANTHROPIC_API_KEY: 'sk-ant-api03-not-a-real-key', ANTHROPIC_BASE_URL: api.url });
      const r = await runCadre(['spawn', '--role', 'solo', '--task', 't', '--budget', '10000', '--run'], env);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/^ +[0-9.]+s {2}solo \S+ calling model {2}0\/10k tokens$/m);
      expect(r.stdout).toMatch(/^ +[0-9.]+s {2}solo \S+ completed /m);
      expect(r.stdout).not.toMatch(/ waiting /);
      expect(r.stdout).not.toContain('\u001b');
    } finally {
      await api.close();
    }
  }, 120_000);

  it('a number too large for its option says so and gives the maximum (it said "not a whole number"), for every numeric option', async () => {
    const max = String(Number.MAX_SAFE_INTEGER);
    const cases: Array<[string[], string]> = [
      [['spawn', '--role', 'r', '--task', 't', '--budget', '99999999999999999999'], `invalid --budget "99999999999999999999": too large, at most ${max}`],
      [['spawn', '--role', 'r', '--task', 't', '--budget', '1e30'], `invalid --budget "1e30": too large, at most ${max}`],
      [['run', 'x', '--template', 'tdd-workflow', '--budget', '1e30'], `invalid --budget "1e30": too large, at most ${max}`],
      [['inbox', 'abcd', '--limit', '5000'], 'invalid --limit "5000": too large, at most 1000'],
      [['tree', '--limit', '99999999999999999999'], `invalid --limit "99999999999999999999": too large, at most ${max}`],
      [['serve', '--port', '70000'], 'invalid --port "70000": too large, at most 65535'],
      [['worker', '--poll', '99999999999'], 'invalid --poll "99999999999": too large, at most 2147483647'],
      [['replay', 'abcd', '--to', '99999999999999999999'], `invalid --to "99999999999999999999": too large, at most ${max}`],
      [['send', 'abcd', 'efgh', '{}', '--priority', '10'], 'invalid --priority "10": expected 0 to 9'],
      [['spawn', '--role', 'r', '--task', 't', '--budget', '1.5'], 'invalid --budget "1.5": expected a whole number written in digits'],
    ];
    for (const [args, said] of cases) {
      const r = await cadre(...args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toContain(said);
    }
  }, 240_000);

  it('an empty or blank task is refused naming the field, by run and spawn', async () => {
    for (const [args, field] of [
      [['spawn', '--role', 'r', '--task', '', '--budget', '100'], '--task must not be empty'],
      [['spawn', '--role', 'r', '--task', '  \t ', '--budget', '100'], '--task must not be empty'],
      [['run', '', '--template', 'tdd-workflow', '--budget', '100'], '<task> must not be empty'],
      [['run', '   ', '--auto', '--budget', '100'], '<task> must not be empty'],
    ] as const) {
      const r = await cadre(...args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toContain(field);
    }
    expect(JSON.parse((await cadre('tree', '--json')).stdout || '[]')).toEqual([]); // nothing was spawned
  }, 120_000);

  it('inbox prints a table (id, from, priority, sent at, attempt, payload preview), --json the messages', async () => {
    const from = await spawnWithCli(cadre, 'lead');
    const to = await spawnWithCli(cadre, 'dev');
    expect((await cadre('send', from, to, '{"text":"low"}', '--priority', '1')).code).toBe(0);
    expect((await cadre('send', from, to, JSON.stringify({ text: `urgent\n${'x'.repeat(200)}` }), '--priority', '9')).code).toBe(0);

    const table = await cadre('inbox', to);
    expect(table.code, table.stderr).toBe(0);
    const lines = table.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^ID +FROM +PRI +SENT AT +ATTEMPT +PAYLOAD$/);
    expect(lines[2]).toMatch(new RegExp(`^\\S+ +${from.slice(0, 8)}…${from.slice(-4)} +9 +\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d +0 +\\{"text":"urgent\\\\nxxx+…$`));
    expect(lines[3]).toMatch(/ 1 .* 0 +\{"text":"low"\}$/);
    expect(lines[5]).toContain('2 messages pending, highest priority first');
    expect(table.stdout).not.toContain('"messageId"'); // not raw JSON
    const json = JSON.parse((await cadre('inbox', to, '--json')).stdout) as Array<{ priority: number; payload: { text: string } }>;
    expect(json.map((m) => m.priority)).toEqual([9, 1]);
    expect(json[0]!.payload.text).toHaveLength(207); // whole
  }, 180_000);

  it('replay without --to is the state now (the latest revision); --help says so', async () => {
    const spawned = await cadre('spawn', '--role', 'solo', '--task', 't', '--budget', '10000', '--run', '--json');
    expect(spawned.code, spawned.stderr).toBe(0);
    const to = (JSON.parse(spawned.stdout) as { state: { id: string } }).state.id;
    const status = JSON.parse((await cadre('status', to, '--json')).stdout) as { revision: number; status: string };
    expect(status.revision).toBeGreaterThan(2);
    const now = await cadre('replay', to, '--json');
    expect(now.code, now.stderr).toBe(0);
    expect(JSON.parse(now.stdout)).toMatchObject({ revision: status.revision, status: status.status });
    expect((await cadre('replay', to)).stdout).toMatch(new RegExp(`at revision +${status.revision}\\n`));
    expect((await cadre('replay', '--help')).stdout).toContain('default: the latest');
  }, 120_000);
});
