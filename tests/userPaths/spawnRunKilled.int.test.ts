/**
 * `cadre spawn --run` killed as soon as its agent is stored (a crash trial's): the spawn and the
 * run request were two commits ~130 ms apart, and a kill between them left an agent a worker
 * hosted, renewing its lease every second, but never ran: `spawned` for good, its budget held.
 * The opening now holds the run request, so a worker takes it over and runs it. Through the real
 * CLI on one Postgres database, the real SDK against a local Messages API.
 */
import { describe, expect, it } from 'vitest';
import { runCli } from '../support/cliProcess.js';
import { jsonOf } from '../support/countingModel.js';
import { userPathEnv } from '../support/userPathEnv.js';

const user = userPathEnv({ delayMs: () => 300 });

describe('cadre spawn --run killed right after the spawn is stored', () => {
  it('a worker runs the agent to its end, once', { timeout: 120_000 }, async () => {
    const spawn = user.cli(['spawn', '--role', 'researcher', '--task', 'killed early', '--budget', '20000', '--run']);
    let id: string | undefined;
    const deadline = Date.now() + 30_000;
    while (id === undefined && Date.now() < deadline) {
      const rows = await user.db.query<{ id: string }>(`SELECT data->>'agentId' AS id FROM cadre.events WHERE type = 'AgentSpawned'`);
      id = rows[0]?.id;
    }
    spawn.kill('SIGKILL');
    await spawn.exited;
    expect(id, spawn.output()).toBeDefined();

    user.cli(['worker', '--poll', '200']);
    let status = '';
    const until = Date.now() + 60_000;
    while (status !== 'completed' && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 500));
      status = jsonOf<{ status: string }>((await runCli(['status', id!, '--json'], user.env)).output).status;
    }
    expect(status).toBe('completed');
    const calls = await user.db.query<{ type: string; n: string }>(`SELECT type, count(*) AS n FROM cadre.events WHERE type IN ('ModelRequested', 'ModelReplied', 'AgentCompleted') GROUP BY type`);
    const n = Object.fromEntries(calls.map((r) => [r.type, Number(r.n)]));
    expect(n.AgentCompleted).toBe(1);
    expect(n.ModelReplied).toBe(n.ModelRequested);
  });
});
