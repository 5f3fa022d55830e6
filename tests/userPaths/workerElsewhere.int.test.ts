/**
 * A worker started from another folder than the repository a run's worktrees are in (a new
 * user's finding): it took the interrupted run's agents, retried "no usable worktree" for their
 * endings and claimed them again, while the worker started in the repository waited. It now
 * declines them, saying so once, and the worker in the repository finishes the run. Through the
 * real CLI on one Postgres database, the real SDK against a local Messages API.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli, startCli, type CliProcess } from '../support/cliProcess.js';
import { jsonOf } from '../support/countingModel.js';
import { createTempRepo } from '../support/gitRepo.js';
import { userPathEnv } from '../support/userPathEnv.js';

const user = userPathEnv({ delayMs: () => 400 });

describe('a worker started outside the repository of a run’s worktrees', () => {
  const started: CliProcess[] = [];
  const dirs: string[] = [];
  afterAll(async () => {
    for (const p of started) {
      p.kill('SIGKILL');
      await p.exited;
    }
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });
  const start = (args: string[], cwd: string): CliProcess => {
    const p = startCli(args, { ...user.env, LOG_LEVEL: 'warn' }, { cwd });
    started.push(p);
    return p;
  };

  it('declines the run’s agents and leaves them to the worker in the repository, which finishes the run', { timeout: 180_000 }, async () => {
    const repo = createTempRepo({ prefix: 'cadre-elsewhere-', files: { 'README.md': '# app\n' } });
    dirs.push(repo.dir);
    const elsewhere = mkdtempSync(join(tmpdir(), 'cadre-not-a-repo-'));
    dirs.push(elsewhere);

    const run = start(['run', 'Build a parser', '--template', 'tdd-workflow', '--budget', '60000', '--workspace'], repo.path);
    await user.modelRequest(1); // the first node works in its worktree, in the repository
    run.kill('SIGINT');
    expect(await run.exited, run.output()).toBe(130);
    const id = /cadre start (\S+) --wait/.exec(run.output())![1]!;

    const wrong = start(['worker', '--poll', '200'], elsewhere);
    await wrong.line(/worker .* started/);
    await wrong.line(/not hosting agent \S+: its worktree .* is not in this process's repository/);
    const right = start(['worker', '--poll', '200'], repo.path);
    await right.line(/worker .* started/);

    const deadline = Date.now() + 90_000;
    let status = '';
    while (status !== 'completed' && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 500));
      status = jsonOf<{ status: string }>((await runCli(['status', id, '--json'], user.env)).output).status;
    }
    expect(status, `${wrong.output()}\n---\n${right.output()}`).toBe('completed');
    expect(wrong.output()).not.toMatch(/no usable worktree/);
  });
});
