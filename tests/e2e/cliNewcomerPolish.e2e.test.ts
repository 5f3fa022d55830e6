import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCadre, type CliRun } from '../support/cadreCli.js';
import { startFakeMessagesApi } from '../support/fakeMessagesApi.js';

/**
 * A third newcomer's findings, through the real bin: errors in user words with a hint that says
 * what to do, and the numbers the user can act on.
 */
const scratch = mkdtempSync(join(tmpdir(), 'cadre-newcomer-polish-'));

function baseEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', LOG_LEVEL: 'error', ...extra };
  for (const k of ['DATABASE_URL', 'EVENT_STORE', 'ANTHROPIC_API_KEY', 'ANTHROPIC_BASE_URL', 'CADRE_DATA_DIR', 'WORKSPACE_REPO', 'WORKSPACE_BASE_PATH', 'CADRE_MODEL', 'DEFAULT_AGENT_TIMEOUT']) if (!(k in extra)) delete env[k];
  return env;
}

const cadre = (...args: string[]): Promise<CliRun> => runCadre(args, baseEnv({ CADRE_DATA_DIR: join(scratch, 'db') }));

async function json<T>(r: CliRun): Promise<T> {
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as T;
}

describe('a newcomer at the CLI, a third time', () => {
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it('an ended agent, a revision out of range and a short id are refused in user words, each with a hint', async () => {
    const done = (await json<{ rootId: string }>(await cadre('spawn', '--role', 'solo', '--task', 't', '--budget', '20000', '--run', '--json'))).rootId;
    const other = (await json<{ id: string }>(await cadre('spawn', '--role', 'other', '--task', 't', '--budget', '100', '--json'))).id;

    const send = await cadre('send', done, other, '{"text":"hi"}');
    expect(send.code).toBe(1);
    expect(send.stderr).toContain(`cadre: agent ${done} has completed: it cannot send messages\n  hint: `);
    expect(send.stderr).not.toContain('sendMessage');

    const spawn = await cadre('spawn', '--role', 'r', '--task', 't', '--budget', '10', '--parent', done);
    expect(spawn.code).toBe(1);
    expect(spawn.stderr).toContain(`cadre: agent ${done} has completed: it cannot spawn children\n  hint: `);

    const replay = await cadre('replay', done, '--to', '999');
    expect(replay.code).toBe(2);
    expect(replay.stderr).toMatch(/^cadre: invalid --to 999: must be between 0 and \d+\n {2}hint: revision 0 is the spawn; `cadre history \S+` lists the revisions/);
    expect(replay.stderr).not.toContain('toRevision');

    const status = await cadre('status', 'abc');
    expect(status.code).toBe(2);
    expect(status.stderr).toContain('hint: agent ids look like 019fd278-932e-…');
    expect(status.stderr).toContain('`cadre tree`');
  }, 120_000);

  it('a child budget larger than its parent has left is bad input (exit 2): it says how much is available and to pass a smaller --budget', async () => {
    const parent = (await json<{ id: string }>(await cadre('spawn', '--role', 'lead', '--task', 't', '--budget', '15000', '--json'))).id;
    const r = await cadre('spawn', '--role', 'r', '--task', 't', '--budget', '50000', '--parent', parent);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('needs 50000 tokens but only 15000 are available');
    expect(r.stderr).toContain('pass a smaller --budget (at most 15000)');
    expect(r.stderr).not.toContain('larger budget');
  }, 60_000);

  it('a misspelt event type or template gets the nearest known name as a suggestion', async () => {
    const id = (await json<{ id: string }>(await cadre('spawn', '--role', 'solo', '--task', 't', '--budget', '100', '--json'))).id;
    const history = await cadre('history', id, '--type', 'BudgetSetled');
    expect(history.code).toBe(2);
    expect(history.stderr).toContain('hint: did you mean BudgetSettled? ');
    const run = await cadre('run', 'Add a helper', '--template', 'tdd-workflw', '--budget', '100000');
    expect(run.code).toBe(3);
    expect(run.stderr).toContain('hint: did you mean tdd-workflow? list templates with `cadre templates list`');
  }, 60_000);

  it('a model with no known price is said once (a warning line), not costed at $0 silently', async () => {
    const api = await startFakeMessagesApi();
    try {
      api.setFallback(() => ({ kind: 'message', message: { model: 'claude-nonexistent-9', content: [{ type: 'text', text: 'done' }], stopReason: 'end_turn', usage: { input_tokens: 10, output_tokens: 5 } } }));
      const env = baseEnv({ CADRE_DATA_DIR: join(scratch, 'dbprice'), ANTHROPIC_API_KEY: 'sk-ant-api03-not-a-real-key', ANTHROPIC_BASE_URL: api.url, CADRE_MODEL: 'claude-nonexistent-9', LOG_LEVEL: 'warn' });
      const r = await runCadre(['run', 'Add a helper', '--template', 'tdd-workflow', '--budget', '100000'], env);
      expect(r.code, r.stderr).toBe(0);
      const said = r.stderr.split('\n').filter((l) => l.includes('no price is known'));
      expect(said).toEqual(['cadre warn: no price is known for model claude-nonexistent-9: its cost is shown as $0 (tokens are still counted and budgeted; docs/cli.md lists the priced models)']);
    } finally {
      await api.close();
    }
  }, 120_000);

  it("the demo's minimum --budget is one it completes with, and a turn it cannot afford says to give a larger --budget", async () => {
    const small = await cadre('demo', '--budget', '29999');
    expect(small.code).toBe(2);
    expect(small.stderr).toContain('invalid --budget "29999": too small, at least 30000');
    const least = await runCadre(['demo', '--budget', '30000', '--json'], baseEnv({ CADRE_DATA_DIR: join(scratch, 'dbdemo') }), { cwd: scratch });
    expect(least.code, least.stdout + least.stderr).toBe(0);

    const solo = await cadre('spawn', '--role', 'solo', '--task', 't', '--budget', '300', '--run');
    expect(solo.code).toBe(1);
    expect(solo.stdout).toMatch(/budget exhausted: 300 tokens left, a turn needs at least \d+ \(about \d+ in\) and about \d+ to leave room for a full reply \(\d+ out\): spawn it again with a larger --budget \(or fork it with --budget\)/);
  }, 180_000);

  it('a timeout names its limit and setting; a 429 from the model ends with a hint', async () => {
    const api = await startFakeMessagesApi();
    try {
      const env = { ANTHROPIC_API_KEY: 'sk-ant-api03-not-a-real-key', ANTHROPIC_BASE_URL: api.url };
      api.setFallback(() => ({ kind: 'message', delayMs: 6000, message: { model: 'claude-sonnet-4-6', content: [{ type: 'text', text: 'done' }], stopReason: 'end_turn' } }));
      const slow = await runCadre(['spawn', '--role', 'solo', '--task', 't', '--budget', '10000', '--run'], baseEnv({ ...env, CADRE_DATA_DIR: join(scratch, 'dbtimeout'), DEFAULT_AGENT_TIMEOUT: '3000' }));
      expect(slow.code).toBe(1);
      expect(slow.stdout).toMatch(/failed solo \S+: timed out after 3 s \(DEFAULT_AGENT_TIMEOUT\)/);

      api.setFallback(() => ({ kind: 'error', status: 429, type: 'rate_limit_error', message: 'Number of request tokens has exceeded your per-minute rate limit', headers: { 'retry-after': '0', 'x-should-retry': 'false' } }));
      const limited = await runCadre(['spawn', '--role', 'solo', '--task', 't', '--budget', '10000', '--run'], baseEnv({ ...env, CADRE_DATA_DIR: join(scratch, 'db429') }));
      expect(limited.code).toBe(1);
      expect(limited.stdout).toMatch(/model API error 429 \(rate_limit_error\).*\n {2}hint: rate limited by the model API: retry later, or lower MAX_CONCURRENT_AGENTS/);
    } finally {
      await api.close();
    }
  }, 120_000);

  it('views agree: budget counts a workflow subtree as tree does, status gives a child the status tree gives it, piped progress names each agent once and ends children before the root', async () => {
    const run = await cadre('run', 'Add a helper', '--template', 'tdd-workflow', '--budget', '120000');
    expect(run.code, run.stderr).toBe(0);
    const progress = run.stdout.split('\n\n')[0]!.split('\n');
    const names = new Map<string, Set<string>>();
    for (const line of progress) {
      const m = /^ +[0-9.]+s +(\S+) (\S+) /.exec(line);
      if (m) names.set(m[2]!, (names.get(m[2]!) ?? new Set()).add(m[1]!));
    }
    expect(names.size).toBe(5);
    for (const [id, said] of names) expect([...said], id).toHaveLength(1);
    const rootEnd = progress.findIndex((l) => /^ +[0-9.]+s {2}tdd-workflow \S+ completed/.test(l));
    for (const node of ['design', 'tests', 'implement', 'review']) {
      const end = progress.findIndex((l) => new RegExp(`^ +[0-9.]+s {4}${node} \\S+ completed`).test(l));
      expect(end, node).toBeGreaterThan(-1);
      expect(end, node).toBeLessThan(rootEnd);
    }

    // Each node's section is its own output: the review's no longer repeats the design (and the tests, …).
    const review = run.stdout.split('## review (reviewer): completed\n')[1]!.split('\n\n')[0]!;
    expect(review).not.toContain('Inputs from the nodes');
    expect(review).not.toContain('architect');
    expect(review.length).toBeLessThan(400);

    const root = /cadre tree (\S+)/.exec(run.stdout)![1]!;
    const tree = await json<{ subtreeConsumed: number; revision: unknown; children: Array<{ revision: unknown; id: string }> }>(await cadre('tree', root, '--json'));
    // Revisions are plain numbers in every --json output (docs/cli.md); the tree's were strings.
    expect([typeof tree.revision, typeof tree.children[0]?.revision]).toEqual(['number', 'number']);
    const budget = await json<{ consumed: number; subtreeConsumed: number }>(await cadre('budget', root, '--json'));
    expect(budget.subtreeConsumed).toBe(tree.subtreeConsumed);
    expect(budget.subtreeConsumed).toBeGreaterThan(0);
    const text = await cadre('budget', root);
    expect(text.stdout).toContain(`consumed               ${tree.subtreeConsumed} by it and its subtree`);
    expect(text.stdout).not.toMatch(/consumed of allocated +░+ +0%/);
    // An ended node's unspent tokens are its parent's now: its own budget says so, as --subtree's RETURNED does.
    const node = await cadre('budget', tree.children[0]!.id);
    expect(node.stdout).toMatch(/returned to its parent +[1-9]\d*/);
    expect(node.stdout).not.toMatch(/^available /m);
    expect(node.stdout).toMatch(/^conservation +\d+ allocated = .* \+ [1-9]\d* returned to its parent$/m);

    const lead = (await json<{ id: string }>(await cadre('spawn', '--role', 'lead', '--task', 't', '--budget', '1000', '--json'))).id;
    const child = (await json<{ id: string }>(await cadre('spawn', '--role', 'helper', '--task', 't', '--budget', '100', '--parent', lead, '--json'))).id;
    const status = await cadre('status', lead);
    expect(status.stdout).toMatch(new RegExp(`${child} +helper +spawned `));
    expect(status.stdout).not.toContain(' live ');

    // report: every figure over one scope, the tree asked for or every tree (its cost table
    // covered the latest tree alone while its counts covered them all).
    type Report = { statusCounts: Record<string, number>; costByRole: Array<{ agents: number }> };
    const counted = (r: Report): number => Object.values(r.statusCounts).reduce((a, b) => a + b, 0);
    const costed = (r: Report): number => r.costByRole.reduce((a, b) => a + b.agents, 0);
    const all = await json<Report>(await cadre('report', '--json'));
    expect(costed(all)).toBe(counted(all));
    expect(counted(all)).toBeGreaterThanOrEqual(7);
    const one = await json<Report>(await cadre('report', root, '--json'));
    expect([counted(one), costed(one)]).toEqual([5, 5]);
    // The role rows end with their sum (a new user looked for a total).
    const reportText = (await cadre('report', root)).stdout;
    expect(reportText).toMatch(/\nin all: 5 agents, \d+ tokens, \$[\d.]+\n/);
    // An agent under a root read "0 agents" above a table that counted it: refused, naming its root.
    const under = await cadre('report', child);
    expect(under.code).toBe(2);
    expect(under.stderr).toContain(`cadre: agent ${child} is not a root: report covers a whole tree, and its tree's root is ${lead}`);
    expect(under.stderr).toContain(`cadre report ${lead}`);
  }, 120_000);
});
