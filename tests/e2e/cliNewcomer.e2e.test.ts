import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { CADRE_BIN, runCadre, spawnWithCli, type CliRun } from '../support/cadreCli.js';
import { startFakeMessagesApi } from '../support/fakeMessagesApi.js';
import { createTempRepo } from '../support/gitRepo.js';

/**
 * The rough edges a newcomer hit in their first hour (issue 18), through the real bin: bare
 * `cadre`, a closed pipe, a misspelt EVENT_STORE, a `.env` file, `send`'s default priority, short
 * id prefixes, hints that point at the right list, and counts in English.
 */
const scratch = mkdtempSync(join(tmpdir(), 'cadre-newcomer-'));
const dataDir = join(scratch, 'db');

function baseEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', LOG_LEVEL: 'error', ...extra };
  for (const k of ['DATABASE_URL', 'EVENT_STORE', 'ANTHROPIC_API_KEY', 'CADRE_DATA_DIR']) if (!(k in extra)) delete env[k];
  return env;
}
const cadre = (...args: string[]): Promise<CliRun> => runCadre(args, baseEnv({ CADRE_DATA_DIR: dataDir }));

describe('a newcomer at the CLI', () => {
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it('bare `cadre` prints the help on stdout and exits 0', async () => {
    const r = await cadre();
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Usage: cadre');
    expect(r.stdout).toContain('Examples:');
    expect(r.stderr).toBe('');
  }, 60_000);

  it('a reader that closes the pipe before cadre writes (`cadre fire --help | true`) gets no stack trace, exit 0', async () => {
    // `true` exits without reading, long before cadre has started: the write always meets a closed
    // pipe (with `| head` it does only when the output outgrows the pipe's buffer). Without the fix:
    // "Error: write EPIPE" with a stack, exit 1.
    const { stderr } = await promisify(execFile)('bash', ['-o', 'pipefail', '-c', `node '${CADRE_BIN}' fire --help | true`], { env: baseEnv() });
    expect(stderr).toBe('');
  }, 60_000);

  it('a misspelt EVENT_STORE is refused naming it, instead of falling back to the embedded store', async () => {
    const folder = join(scratch, 'never');
    const r = await runCadre(['tree'], baseEnv({ EVENT_STORE: 'kurentdb://127.0.0.1:2113', CADRE_DATA_DIR: folder }));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('EVENT_STORE');
    expect(r.stderr).toContain('kurrentdb://');
    expect(existsSync(folder)).toBe(false);
  }, 60_000);

  it('reads a .env in the working directory; the real environment wins over it', async () => {
    const project = join(scratch, 'project');
    const fromFile = join(scratch, 'from-dotenv');
    const fromEnv = join(scratch, 'from-env');
    mkdirSync(project);
    writeFileSync(join(project, '.env'), `# a comment\nCADRE_DATA_DIR=${fromFile}\nLOG_LEVEL=error\n`);
    const a = await runCadre(['spawn', '--role', 'r', '--task', 't', '--budget', '100'], baseEnv(), { cwd: project });
    expect(a.code, a.stderr).toBe(0);
    expect(existsSync(fromFile)).toBe(true);
    const b = await runCadre(['spawn', '--role', 'r', '--task', 't', '--budget', '100'], baseEnv({ CADRE_DATA_DIR: fromEnv }), { cwd: project });
    expect(b.code, b.stderr).toBe(0);
    expect(existsSync(fromEnv)).toBe(true);
  }, 120_000);

  it('send defaults to the API\'s priority (5); budget 0 as in the API; ids need 4 characters; counts read "1 agent"; not-found hints point at the right list', async () => {
    const from = await spawnWithCli(cadre, 'lead');
    const to = await spawnWithCli(cadre, 'dev');
    const sent = await cadre('send', from, to, '{"text":"hi"}', '--json');
    expect(sent.code, sent.stderr).toBe(0);
    expect((JSON.parse(sent.stdout) as { priority: number }).priority).toBe(5);
    const inbox = await cadre('inbox', to, '--json');
    expect((JSON.parse(inbox.stdout) as Array<{ priority: number }>).map((m) => m.priority)).toEqual([5]);

    const short = await cadre('status', to.slice(0, 3));
    expect(short.code).toBe(2);
    expect(short.stderr).toContain('at least 4 characters');

    const tree = await cadre('tree');
    expect(tree.stdout).toContain(`1 agent, root ${to}`);

    // A budget of 0, as the API takes it (the CLI refused it): the agent ends without a call.
    const zero = await cadre('spawn', '--role', 'idle', '--task', 't', '--budget', '0', '--run', '--json');
    expect(zero.stderr).not.toContain('invalid --budget');
    expect((JSON.parse(zero.stdout) as { state: { status: string; budget: { allocated: number; consumed: number } } }).state).toMatchObject({ status: 'failed', budget: { allocated: 0, consumed: 0 } });

    const nope = await cadre('projections', 'rebuild', 'nope');
    expect(nope.code).toBe(3);
    expect(nope.stderr).toContain('cadre projections status');
    expect(nope.stderr).not.toContain('cadre tree');
  }, 180_000);

  it('history keeps one event per line with newlines in a task, says when a --type filter leaves nothing, and names an unknown type', async () => {
    const spawned = await cadre('spawn', '--role', 'r', '--task', 'line one\nline two\n\tline three', '--budget', '100', '--json');
    expect(spawned.code, spawned.stderr).toBe(0);
    const id = (JSON.parse(spawned.stdout) as { id: string }).id;
    const events = JSON.parse((await cadre('history', id, '--json')).stdout) as unknown[];
    const table = await cadre('history', id);
    expect(table.stdout.trimEnd().split('\n')).toHaveLength(events.length + 2);
    expect(table.stdout).toContain('line one ⏎ line two');

    const none = await cadre('history', id, '--type', 'ModelReplied');
    expect(none.code).toBe(0);
    expect(none.stdout.trim()).toBe('no ModelReplied events');
    const typo = await cadre('history', id, '--type', 'ModelReply');
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain('unknown event type "ModelReply"');
  }, 120_000);

  it("a model's escape sequences reach the terminal as visible text, not as commands (title, links, clipboard)", async () => {
    const api = await startFakeMessagesApi();
    try {
      const reply = 'DONE \u001b]0;PWNED-TITLE\u0007\u001b[2J\u001b]52;c;cHduZWQ=\u0007';
      api.setFallback(() => ({ kind: 'message', message: { content: [{ type: 'text', text: reply }], stopReason: 'end_turn', usage: { input_tokens: 10, output_tokens: 5 } } }));
      const env = baseEnv({ CADRE_DATA_DIR: join(scratch, 'dbesc'), ANTHROPIC_API_KEY: 'sk-ant-api03-not-a-real-key', ANTHROPIC_BASE_URL: api.url });
      const run = await runCadre(['spawn', '--role', 'solo', '--task', 't', '--budget', '10000', '--run'], env);
      expect(run.code, run.stderr).toBe(0);
      const id = /[0-9a-f]{8}-[0-9a-f-]{27}/.exec(run.stdout)![0];
      const status = await runCadre(['status', id], env);
      for (const out of [run.stdout, status.stdout]) {
        expect(out).toContain('DONE ␛]0;PWNED-TITLE␇');
        expect(out).not.toContain('\u001b]');
        expect(out).not.toContain('\u0007');
      }
      // JSON keeps the reply exactly (escaped by JSON itself).
      const json = await runCadre(['status', id, '--json'], env);
      expect((JSON.parse(json.stdout) as { result: { output: string } }).result.output).toBe(reply);
    } finally {
      await api.close();
    }
  }, 120_000);

  it('workspaces cleanup keeps a branch that holds an agent\'s work (it deleted the only copy), and says so', async () => {
    const repo = createTempRepo({ prefix: 'cadre-newcomer-ws-' });
    try {
      const env = baseEnv({ CADRE_DATA_DIR: join(scratch, 'dbws'), WORKSPACE_REPO: repo.path, WORKSPACE_BASE_PATH: repo.basePath, WORKSPACE_CLEANUP_POLICY: 'never' });
      const run = await runCadre(['spawn', '--role', 'writer', '--task', 'Write NOTES.md', '--budget', '10000', '--workspace', '--run', '--json'], env);
      expect(run.code, run.stderr).toBe(0);
      const id = (JSON.parse(run.stdout) as { state: { id: string } }).state.id;
      const branch = `agents/${id}`;
      expect(repo.git(['branch', '--list', branch])).toContain(branch);
      expect((await runCadre(['workspaces', 'diff', id, '--json'], env)).stdout).toMatch(/"files": [1-9]/);

      // The run kept the worktree (policy never); cleanup under on_completion lets it go, not the work.
      const cleanupEnv = { ...env, WORKSPACE_CLEANUP_POLICY: 'on_completion' };
      const dry = await runCadre(['workspaces', 'cleanup', '--dry-run'], cleanupEnv);
      expect(dry.stdout).toContain(`would keep 1 branch:\n  branch   ${branch} (agent completed; holds commits no other branch has)`);
      const cleanup = await runCadre(['workspaces', 'cleanup'], cleanupEnv);
      expect(cleanup.stdout).toMatch(/^removed 1 worktree \(.*\), policy on_completion:\n.*\nkept 1 branch:/);
      expect(repo.git(['branch', '--list', branch])).toContain(branch); // the work is still there
    } finally {
      repo.cleanup();
    }
  }, 180_000);

  it('a model that answers 429 shows one readable warning and the failed agent\'s reason, not JSON with a stack', async () => {
    const api = await startFakeMessagesApi();
    try {
      api.setFallback(() => ({ kind: 'error', status: 429, type: 'rate_limit_error', message: 'Number of request tokens has exceeded your per-minute rate limit', headers: { 'retry-after': '0', 'x-should-retry': 'false' } }));
      const r = await runCadre(['spawn', '--role', 'solo', '--task', 't', '--budget', '10000', '--run'],
        baseEnv({ CADRE_DATA_DIR: join(scratch, 'db429'), ANTHROPIC_API_KEY: 'sk-ant-api03-not-a-real-key', ANTHROPIC_BASE_URL: api.url, LOG_LEVEL: 'warn' }));
      expect(r.code).toBe(1);
      const said = 'model API error 429 (rate_limit_error): Number of request tokens has exceeded your per-minute rate limit';
      expect(r.stderr).not.toContain('{"level"');
      expect(r.stderr).not.toMatch(/\n\s+at /); // no stack
      expect(r.stderr.split(said)).toHaveLength(2); // said once, the body not repeated
      expect(r.stderr).toContain(`cadre warn: model call failed: ${said}`);
      expect(r.stdout).toMatch(new RegExp(`failed: 1 agent,.*\\n  failed solo [0-9a-f-]{36}: model call failed: ${said.replace(/[()]/g, '\\$&')}`));
    } finally {
      await api.close();
    }
  }, 120_000);

  it('outside a git repository, --workspace is refused saying how to set WORKSPACE_REPO, and workspaces list says why it has nothing', async () => {
    const outside = join(scratch, 'not-a-repo');
    mkdirSync(outside);
    const env = baseEnv({ CADRE_DATA_DIR: join(scratch, 'db-outside'), GIT_CEILING_DIRECTORIES: scratch });
    delete env.WORKSPACE_REPO;
    const spawned = await runCadre(['spawn', '--role', 'r', '--task', 't', '--budget', '100', '--workspace'], env, { cwd: outside });
    expect(spawned.code).toBe(2);
    expect(spawned.stderr).toContain('workspace');
    expect(spawned.stderr).toContain('WORKSPACE_REPO');
    const tree = await runCadre(['tree', '--json'], env, { cwd: outside });
    expect(JSON.parse(tree.stdout || '[]')).toEqual([]); // nothing was spawned without its worktree
    const list = await runCadre(['workspaces', 'list'], env, { cwd: outside });
    expect(list.code).toBe(1);
    expect(list.stderr).toContain('no git repository here');
    expect(list.stderr).not.toContain('not available in this build');
  }, 120_000);
});

