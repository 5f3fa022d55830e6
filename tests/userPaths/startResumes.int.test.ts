/**
 * `cadre start <id> --wait` hosts the agent's whole subtree as a worker would (a new user's
 * findings): a child spawned without `--run`, and a workflow interrupted by Ctrl-C, both finish
 * with it; and Ctrl-C says what it left and exits 130. Through the real CLI on one Postgres
 * database, with the real Anthropic SDK talking to a local Messages API that counts requests.
 */
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { runCli, startCli } from '../support/cliProcess.js';
import { createTempRepo } from '../support/gitRepo.js';
import { jsonOf, tally as tallyOf } from '../support/countingModel.js';
import { userPathEnv } from '../support/userPathEnv.js';

/** Slow enough to interrupt a call mid-flight, quicker than close()'s drain (5 s). */
const REPLY_DELAY_MS = 2500;

const user = userPathEnv({ delayMs: () => REPLY_DELAY_MS });
const { cli, modelRequest } = user;

async function spawned(args: string[]): Promise<string> {
  const r = await runCli(['spawn', ...args, '--json'], user.env);
  expect(r.code, r.output).toBe(0);
  return jsonOf<{ id: string }>(r.output).id;
}

const tally = (): Promise<{ recorded: number; requests: number }> => tallyOf(user.db, user.api);

async function statuses(): Promise<Record<string, string>> {
  const rows = await user.db.query<{ agent_id: string; status: string }>(`SELECT agent_id, status FROM cadre.actor_index`);
  return Object.fromEntries(rows.map((r) => [r.agent_id, r.status]));
}

describe('cadre start --wait hosts the subtree; Ctrl-C says what it left', () => {
  it('a child spawned without --run: start <parent> --wait runs both to their end', { timeout: 120_000 }, async () => {
    const lead = await spawned(['--role', 'lead', '--task', 'lead2', '--budget', '20000']);
    const child = await spawned(['--role', 'dev', '--task', 'child2', '--budget', '3000', '--parent', lead]);
    const wait = cli(['start', lead, '--wait', '--json']);
    const code = await Promise.race([wait.exited, new Promise((r) => setTimeout(() => r('still running after 60 s'), 60_000))]);
    expect(code, wait.output()).toBe(0);
    expect(jsonOf<{ status: string }>(wait.output()).status).toBe('completed');
    const childState = await runCli(['status', child, '--json'], user.env);
    expect(jsonOf<{ status: string }>(childState.output).status).toBe('completed');
    expect(await statuses()).toEqual({ [lead]: 'ended', [child]: 'ended' });
    const t = await tally();
    expect(t.recorded).toBe(2);
    expect(t.requests).toBe(t.recorded);
  });

  it('a workflow interrupted by Ctrl-C mid model call: one line, exit 130, and start --wait finishes it with one request per recorded call', { timeout: 180_000 }, async () => {
    const run = cli(['run', 'Build a parser', '--template', 'tdd-workflow', '--budget', '50000']);
    await modelRequest(1); // design waits on the model
    run.kill('SIGINT');
    const line = await run.line(/^interrupted: /);
    expect(line).toMatch(/^interrupted: \S+ (\S+) \(waiting for 1 child\) and \d+ agents? under it not finished; the model call under way is let finish and recorded first \(up to 5 s\); a cadre worker or cadre serve on this store goes on with it \(within 5 s\), else resume with cadre start \1 --wait$/);
    expect(await run.exited, run.output()).toBe(130);
    const id = /cadre start (\S+) --wait/.exec(line)![1]!;
    const resumed = cli(['start', id, '--wait', '--json']);
    const code = await Promise.race([resumed.exited, new Promise((r) => setTimeout(() => r('still running after 90 s'), 90_000))]);
    expect(code, resumed.output()).toBe(0);
    expect(jsonOf<{ status: string }>(resumed.output()).status).toBe('completed');
    expect(Object.values(await statuses()).every((s) => s === 'ended')).toBe(true);
    // The call in flight at Ctrl-C was let finish and recorded: nothing was asked twice.
    const t = await tally();
    expect(t.recorded).toBeGreaterThan(1);
    expect(t.requests).toBe(t.recorded);
  });

  it('Ctrl-C during an --auto planning call: one line, exit 130, the call recorded before it was made and released with the workflow\'s failure', { timeout: 120_000 }, async () => {
    const before = user.api.requests.length;
    const run = cli(['run', 'Plan then build a parser', '--auto', '--budget', '30000']);
    await modelRequest(before + 1); // the planning call waits on the model
    run.kill('SIGINT');
    const line = await run.line(/^interrupted while planning: /);
    expect(await run.exited, run.output()).toBe(130);
    const id = /workflow (\S+) failed before it had a plan \(nothing ran\); run the task again$/.exec(line)![1]!;
    const history = await runCli(['history', id, '--json'], user.env);
    const events = JSON.parse(history.output.slice(history.output.indexOf('['))) as Array<{ type: string; data: Record<string, unknown> }>;
    expect(events.map((e) => e.type)).toEqual(['AgentSpawned', 'BudgetReserved', 'BudgetReleased', 'AgentFailed']);
    expect(events[3]!.data).toMatchObject({ cause: 'interrupted', returned: 30_000 });
    const budget = jsonOf<{ reserved: number; consumed: number; available: number }>((await runCli(['budget', id, '--json'], user.env)).output);
    expect(budget).toMatchObject({ reserved: 0, consumed: 0, available: 30_000 });
    // A failure with no output ends its result line with the reason, not an empty ": ".
    const status = await runCli(['status', id], user.env);
    expect(status.output).toMatch(/result\s+failed \(planning was interrupted before the model answered; run the task again\)$/m);
  });

  it('kill -9 mid model call: start says its process is gone (not that it runs it), start --wait finishes it, and history marks the call sent again', { timeout: 120_000 }, async () => {
    const id = await spawned(['--role', 'r', '--task', 'crash me', '--budget', '10000']);
    const host = cli(['start', id, '--wait']);
    await modelRequest(1);
    host.kill('SIGKILL');
    await host.exited;

    const start = await runCli(['start', id], user.env);
    expect(start.code, start.output).toBe(0);
    expect(start.output).toMatch(new RegExp(`^run requested for r ${id} \\(status \\w+\\); the process that held it \\(\\S+\\) is gone: start a worker \\(cadre worker or cadre serve\\) to take it up, or run it here with cadre start ${id} --wait$`, 'm'));
    expect(start.output).not.toMatch(/ runs it\b|took it up \(/);

    // Every view says nobody runs it, as tree does: status said "waiting (for model)" and report
    // "(waiting)".
    const tree = await runCli(['tree', id], user.env);
    expect(tree.output).toMatch(/not hosted \(was calling model\)/);
    const status = await runCli(['status', id], user.env);
    expect(status.output).toMatch(new RegExp(`^status +waiting \\(for model\\); not hosted: no process runs it \\(cadre worker, cadre serve or cadre start ${id.slice(0, 8)} --wait takes it up\\)$`, 'm'));
    expect(jsonOf<{ activity: string }>((await runCli(['status', id, '--json'], user.env)).output).activity).toBe('not hosted (was calling model)');
    expect((await runCli(['report', id], user.env)).output).toContain(`active: r ${id} (waiting, not hosted)`);

    const resumed = await runCli(['start', id, '--wait', '--json'], user.env);
    expect(resumed.code, resumed.output).toBe(0);
    const listed = (await runCli(['history', id, '--json'], user.env)).output;
    const history = JSON.parse(listed.slice(listed.indexOf('['))) as Array<{ type: string; data: { resent?: boolean } }>;
    const replies = history.filter((e) => e.type === 'ModelReplied');
    expect(replies).toHaveLength(1);
    expect(replies[0]!.data.resent).toBe(true);
    expect(await tally()).toEqual({ recorded: 1, requests: 2 });
  });

  it("start --wait where the agent's worktree cannot be reached says where to run it, instead of waiting for ever", { timeout: 120_000 }, async () => {
    const repo = createTempRepo({ prefix: 'cadre-startwhere-' });
    try {
      const inRepo = { ...user.env, WORKSPACE_BASE_PATH: repo.basePath };
      const spawnedHere = startCli(['spawn', '--role', 'dev', '--task', 'edit', '--budget', '10000', '--workspace', '--json'], inRepo, { cwd: repo.path });
      expect(await spawnedHere.exited, spawnedHere.output()).toBe(0);
      const id = jsonOf<{ id: string }>(spawnedHere.output()).id;
      const host = startCli(['start', id, '--wait'], inRepo, { cwd: repo.path });
      await modelRequest(1); // its worktree is made before its first call
      host.kill('SIGKILL');
      await host.exited;

      // From a folder with no repository, and from the repository without the run's base path:
      // each waited for ever, warning that the agent was left for another process.
      for (const [cwd, env, why] of [[repo.dir, user.env, 'this process has no git repository'], [repo.path, user.env, "it is not in this process's repository"]] as const) {
        const elsewhere = startCli(['start', id, '--wait'], env, { cwd });
        const code = await Promise.race([elsewhere.exited, new Promise((r) => setTimeout(() => r('still waiting after 30 s'), 30_000))]);
        elsewhere.kill('SIGKILL');
        expect(code, elsewhere.output()).toBe(1);
        expect(elsewhere.output()).toContain(`dev ${id} works in the worktree ${join(repo.basePath, id)}, and ${why}`);
        expect(elsewhere.output()).toContain(`hint: run it where it was made: cd ${repo.path} && WORKSPACE_BASE_PATH=${repo.basePath} cadre start ${id} --wait`);
      }
      // Where the hint says, it runs to its end.
      const there = startCli(['start', id, '--wait'], inRepo, { cwd: repo.path });
      expect(await there.exited, there.output()).toBe(0);
    } finally {
      repo.cleanup();
    }
  });

  it('Ctrl-C at any moment of a run, from its first: one line naming what was left (or that nothing was), exit 130', { timeout: 120_000 }, async () => {
    // A new user's try: Ctrl-C 3.5 s into a first run (the store still opening, the workflow
    // being spawned) exited 130 with nothing printed, and left a started workflow nothing named.
    const roots = async (): Promise<string[]> => (await user.db.query<{ agent_id: string }>(`SELECT agent_id FROM cadre.actor_index WHERE parent_id IS NULL`)).map((r) => r.agent_id);
    for (const afterMs of [0, 150, 300, 500, 800]) {
      const before = new Set(await roots());
      const run = cli(['run', `task ${afterMs}`, '--template', 'tdd-workflow', '--budget', '60000']);
      await new Promise((r) => setTimeout(r, afterMs));
      run.kill('SIGINT');
      const code = await run.exited;
      const made = (await roots()).filter((id) => !before.has(id));
      // Before cadre's code has loaded, the signal ends node itself: nothing can have been recorded.
      if (code === 'SIGINT') {
        expect(made, `killed before its handlers at ${afterMs} ms`).toEqual([]);
        continue;
      }
      expect(code, run.output()).toBe(130);
      const lines = run.output().split('\n').filter((l) => l.startsWith('interrupted'));
      expect(lines, run.output()).toHaveLength(1);
      if (made.length === 0) expect(lines[0]).toBe('interrupted before the workflow was spawned: nothing was recorded; run the task again');
      else expect(lines[0]).toMatch(new RegExp(`^interrupted: tdd-workflow ${made[0]} .*resume with cadre start ${made[0]} --wait$`));
    }
  });

  it('Ctrl-C on spawn --run says what it left and exits 130; on a worker, that it stopped', { timeout: 120_000 }, async () => {
    const run = cli(['spawn', '--role', 'r', '--task', 't', '--budget', '10000', '--run']);
    await modelRequest(1);
    run.kill('SIGINT');
    expect(await run.exited, run.output()).toBe(130);
    expect(run.output()).toMatch(/^interrupted: r (\S+) \(calling model\) not finished; the model call under way is let finish and recorded first \(up to 5 s\); a cadre worker or cadre serve on this store goes on with it \(within 5 s\), else resume with cadre start \1 --wait$/m);

    // A worker running an agent, stopped by Ctrl-C mid-call, says so.
    const worker = cli(['worker', '--poll', '200']);
    await worker.line(/worker .* started/);
    const other = await spawned(['--role', 'r', '--task', 't', '--budget', '10000']);
    expect((await runCli(['start', other], user.env)).code).toBe(0);
    await modelRequest(2);
    worker.kill('SIGINT');
    expect(await worker.exited, worker.output()).toBe(0);
    expect(worker.output()).toMatch(/^worker \S+ stopped; the (agent it hosted resumes|\d+ agents it hosted resume) at the next start/m);
  });

  it('Ctrl-C on cadre demo ends its run (its worktrees are in a repository the demo deletes): one line, exit 130, nothing left live, the budget back', { timeout: 120_000 }, async () => {
    const demo = cli(['demo', '--budget', '60000']);
    await modelRequest(2); // the design node has answered; the next node waits on the model
    demo.kill('SIGINT');
    const line = await demo.line(/^interrupted: /);
    expect(await demo.exited, demo.output()).toBe(130);
    // It said a worker or `cadre start` would go on with it, and they retried its endings for ever.
    const id = /^interrupted: the demo's run (\S+) is terminated \(its worktrees were in a temporary repository\); run cadre demo again$/.exec(line)?.[1];
    expect(id, line).toBeDefined();
    expect(Object.values(await statuses()).every((s) => s === 'ended')).toBe(true);
    const budget = jsonOf<{ status?: string; reserved: number; delegated: number; subtree: { reserved: number } }>((await runCli(['budget', id!, '--subtree', '--json'], user.env)).output);
    expect(budget).toMatchObject({ reserved: 0, delegated: 0, subtree: { reserved: 0 } });
    expect(jsonOf<{ status: string }>((await runCli(['status', id!, '--json'], user.env)).output).status).toBe('terminated');
  });
});
