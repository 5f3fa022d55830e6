/**
 * `cadre run --auto` whose model never gives a valid plan, as a user meets it: the real
 * Anthropic SDK against a local Messages API that answers every call with a `finish` tool call
 * instead of `submit_plan`. The error sends the user to `cadre history <workflow>`, which must
 * hold what the model answered and why each answer was refused, and the budget spent on them.
 */
import { describe, expect, it } from 'vitest';
import { runCli } from '../support/cliProcess.js';
import { userPathEnv } from '../support/userPathEnv.js';

const user = userPathEnv({ delayMs: () => 0 });

describe('cadre run --auto with a model that never plans', () => {
  it('fails naming the workflow, whose history holds each refused answer and what it cost', { timeout: 120_000 }, async () => {
    const run = await runCli(['run', 'Add a slug helper', '--auto', '--budget', '20000'], user.env);
    expect(run.code, run.output).toBe(1);
    const id = /workflow (\S+) failed \(invalid_plan\)/.exec(run.output)?.[1];
    expect(id, run.output).toBeDefined();
    expect(run.output).toContain(`cadre history ${id}`);
    expect(user.api.messageRequests()).toHaveLength(2);

    const history = await runCli(['history', id!, '--json'], user.env);
    expect(history.code, history.output).toBe(0);
    const events = JSON.parse(history.output.slice(history.output.indexOf('['))) as Array<{ type: string; data: Record<string, unknown> }>;
    const refused = events.filter((e) => e.type === 'WorkflowPlanRejected');
    expect(refused.map((e) => e.data.attempt)).toEqual([1, 2]);
    // The answer as given: the model called `finish`, not `submit_plan`.
    for (const e of refused) expect(e.data.answer).toMatch(/^\(called finish: \{"output":"done \d"\}\)$/);
    expect(events.filter((e) => e.type === 'BudgetSettled')).toHaveLength(2);
    expect(events.at(-1)!.type).toBe('AgentFailed');

    const text = await runCli(['history', id!], user.env);
    expect(text.output).toMatch(/plan 1 refused: /);
  });
});
