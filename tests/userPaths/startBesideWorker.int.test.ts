/**
 * `cadre start <id>` beside a running `cadre worker` (a new user's finding): it answered "no
 * process hosts it now: start one with cadre worker" 3 times of 3, since it looked before the
 * worker's next lease tick claimed the agent, which then ran within a second. It now names the
 * worker that took it up. Through the real CLI on one Postgres database.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { runCli, startCli, type CliProcess } from '../support/cliProcess.js';
import { jsonOf } from '../support/countingModel.js';
import { userPathEnv } from '../support/userPathEnv.js';

const user = userPathEnv({ delayMs: () => 300 });

describe('cadre start beside a running worker', () => {
  const started: CliProcess[] = [];
  afterAll(async () => {
    for (const p of started) {
      p.kill('SIGKILL');
      await p.exited;
    }
  });

  it('says which process took the agent up, not that none hosts it', { timeout: 120_000 }, async () => {
    const worker = startCli(['worker'], { ...user.env, LOG_LEVEL: 'warn' });
    started.push(worker);
    await worker.line(/worker .* started/);
    for (let i = 0; i < 3; i++) {
      const spawned = await runCli(['spawn', '--role', `solo${i}`, '--task', 'say done', '--budget', '10000', '--json'], user.env);
      expect(spawned.code, spawned.output).toBe(0);
      const id = jsonOf<{ id: string }>(spawned.output).id;
      const r = await runCli(['start', id], user.env);
      expect(r.code, r.output).toBe(0);
      expect(r.output).toMatch(new RegExp(`run requested for solo${i} \\S+: (\\S+ runs it|another process ran it to its end)`));
      expect(r.output).not.toMatch(/no process/);
    }
  });
});
