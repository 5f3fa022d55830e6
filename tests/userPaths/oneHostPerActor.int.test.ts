/**
 * Exactly one process executes an actor's effects (issue 16): the CLI as a user runs it, beside
 * `cadre worker` and `cadre serve`, all on one Postgres database, with the real Anthropic SDK
 * talking to a local Messages API whose replies take seconds. Every request the server receives
 * must be a model call the history records: a second host running the same actor shows up as
 * more requests than recorded calls.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { runCli, type CliProcess } from '../support/cliProcess.js';
import { jsonOf, tally as tallyOf } from '../support/countingModel.js';
import { userPathEnv } from '../support/userPathEnv.js';
import { authorized, servedDashboard } from '../support/dashboardAuth.js';

/** Long enough that a second host starts the same call while the first still waits for it. */
const REPLY_DELAY_MS = 2500;
/** Longer than a lease's time to live (5 s): the holder must keep renewing while it waits. */
const SLOWER_THAN_A_LEASE_MS = 7000;
let replyDelayMs = REPLY_DELAY_MS;

/** Replies wait for this too (a test holds them until another process is up). */
let held: Promise<unknown> = Promise.resolve();
const user = userPathEnv({ delayMs: () => replyDelayMs, until: () => held });
const { cli, modelRequest } = user;

afterEach(() => {
  held = Promise.resolve();
  replyDelayMs = REPLY_DELAY_MS;
});

async function worker(): Promise<CliProcess> {
  const w = cli(['worker', '--poll', '200']);
  await w.line(/worker .* started/);
  return w;
}

const tally = (): Promise<{ recorded: number; requests: number }> => tallyOf(user.db, user.api);

async function finished(p: CliProcess): Promise<void> {
  const code = await p.exited;
  expect(code, p.output()).toBe(0);
}

describe('one host per actor: CLI, worker and serve on one Postgres store', () => {
  it('cadre spawn --run beside a cadre worker: one request per recorded model call', { timeout: 120_000 }, async () => {
    await worker();
    await finished(cli(['spawn', '--role', 'r', '--task', 't', '--budget', '10000', '--run']));
    expect(await tally()).toEqual({ recorded: 1, requests: 1 });
  });

  it('a model call slower than the lease TTL: the CLI keeps its lease, the worker beside it never takes the agent over', { timeout: 120_000 }, async () => {
    replyDelayMs = SLOWER_THAN_A_LEASE_MS;
    await worker();
    await finished(cli(['spawn', '--role', 'r', '--task', 't', '--budget', '10000', '--run']));
    expect(await tally()).toEqual({ recorded: 1, requests: 1 });
  });

  it('cadre run --template tdd-workflow beside a cadre worker: one request per recorded model call', { timeout: 180_000 }, async () => {
    await worker();
    await finished(cli(['run', 'Add a slug helper', '--template', 'tdd-workflow', '--budget', '50000']));
    const t = await tally();
    expect(t.recorded).toBeGreaterThan(1);
    expect(t.requests).toBe(t.recorded);
  });

  it('cadre spawn, then cadre start <id>: the worker runs it, and start --wait follows it to the end', { timeout: 120_000 }, async () => {
    const w = await worker();
    const spawned = await runCli(['spawn', '--role', 'r', '--task', 't', '--budget', '10000', '--json'], user.env);
    expect(spawned.code, spawned.output).toBe(0);
    const id = jsonOf<{ id: string; status: string }>(spawned.output).id;
    const start = await runCli(['start', id, '--json'], user.env);
    expect(start.code, start.output).toBe(0);
    expect(jsonOf<{ runRequested: boolean }>(start.output).runRequested).toBe(true);
    // The worker took the free agent over and runs it; --wait follows it through the store.
    const wait = cli(['start', id, '--wait', '--json']);
    await finished(wait);
    expect(jsonOf<{ status: string }>(wait.output()).status).toBe('completed');
    expect(await tally()).toEqual({ recorded: 1, requests: 1 });
    // Started again once it has completed: nothing to run, said so (it said "run requested").
    const again = await runCli(['start', id, '--json'], user.env);
    expect(jsonOf<{ runRequested: boolean; status: string }>(again.output)).toMatchObject({ runRequested: false, status: 'completed' });
    expect(w.output()).not.toMatch(/error/i);
  });

  it("cadre serve started while a CLI run waits on the model: serve does not run the CLI run's agent too", { timeout: 120_000 }, async () => {
    let release!: () => void;
    held = new Promise<void>((r) => (release = r));
    const run = cli(['spawn', '--role', 'r', '--task', 't', '--budget', '10000', '--run']);
    await modelRequest(1);
    // Serve recovers live agents as it starts: the one the CLI is running is not its to run.
    // The CLI's model call is answered only once serve is up.
    const serve = cli(['serve', '--port', '0']);
    const dash = servedDashboard(await serve.line(/dashboard: http/));
    const url = dash.url.replace(/\/$/, '');
    // What it reads it does not host: /api/health said 3 after a GET /api/roots loaded the agents.
    const roots = (await (await fetch(`${url}/api/roots`, { headers: authorized(dash) })).json()) as unknown[];
    expect(roots.length).toBeGreaterThan(0);
    expect(((await (await fetch(`${url}/api/health`, { headers: authorized(dash) })).json()) as { live: number }).live).toBe(0);
    release();
    await finished(run);
    expect(await tally()).toEqual({ recorded: 1, requests: 1 });
  });

  it('a worker killed (SIGKILL) and started again during a CLI workflow run: one request per recorded model call', { timeout: 180_000 }, async () => {
    const first = await worker();
    const run = cli(['run', 'Add a slug helper', '--template', 'tdd-workflow', '--budget', '50000']);
    await modelRequest(1);
    first.kill('SIGKILL');
    await first.exited;
    await worker();
    await finished(run);
    const t = await tally();
    expect(t.recorded).toBeGreaterThan(1);
    expect(t.requests).toBe(t.recorded);
  });
});
