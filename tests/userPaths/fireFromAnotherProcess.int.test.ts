/**
 * `cadre fire` from a second process on a workflow that a `cadre run` hosts (a new user's first
 * try at stopping spending): the host goes on with its work meanwhile, recording the node the fire
 * ended and starting the next, and the fire failed every time with "cannot accept
 * AgentTerminated" while the run went on to finish. The real CLI on one Postgres database, the
 * real Anthropic SDK against a local Messages API whose replies take a second.
 */
import { describe, expect, it } from 'vitest';
import { runCli } from '../support/cliProcess.js';
import { jsonOf } from '../support/countingModel.js';
import { userPathEnv } from '../support/userPathEnv.js';

const user = userPathEnv({ delayMs: () => 1000 });
const { cli, modelRequest } = user;

describe('cadre fire on a workflow another process runs', () => {
  it('terminates the whole tree, the run ends terminated, and the budget adds up', { timeout: 180_000 }, async () => {
    const run = cli(['run', 'Add a slug helper', '--template', 'tdd-workflow', '--budget', '50000']);
    await modelRequest(1);
    const [root] = await user.db.query<{ id: string }>(`SELECT agent_id AS id FROM cadre.actor_index WHERE parent_id IS NULL`);
    expect(root).toBeDefined();

    const fired = await runCli(['fire', root!.id, '--reason', 'stop spending'], user.env);
    expect(fired.code, fired.output).toBe(0);

    await run.exited;
    const status = await runCli(['status', root!.id, '--json'], user.env);
    expect(jsonOf<{ status: string }>(status.output).status).toBe('terminated');
    // Every agent of the tree ended; none is left live in the index for a worker to pick up.
    const live = await user.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM cadre.actor_index WHERE status = 'live'`);
    expect(live[0]!.n).toBe(0);
    const ends = await user.db.query<{ stream_id: string; n: number }>(
      `SELECT stream_id, count(*)::int AS n FROM cadre.events WHERE type IN ('AgentCompleted', 'AgentFailed', 'AgentTerminated') GROUP BY stream_id HAVING count(*) <> 1`,
    );
    expect(ends).toEqual([]);
    // The root's balance adds up (budget.ts BudgetStatus): nothing held or out with a child any
    // more, every token given either spent (by it or its subtree) or available.
    const budget = await runCli(['budget', root!.id, '--json'], user.env);
    const b = jsonOf<{ allocated: number; consumed: number; reserved: number; delegated: number; spentBySubtree: number; available: number; overspent: number }>(budget.output);
    expect(b.reserved).toBe(0);
    expect(b.delegated).toBe(0);
    expect(b.consumed + b.spentBySubtree + b.available).toBe(b.allocated + b.overspent);
  });
});
