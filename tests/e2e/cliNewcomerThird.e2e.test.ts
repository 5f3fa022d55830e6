import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCadre, spawnWithCli, type CliRun } from '../support/cadreCli.js';

/**
 * What a third newcomer met (session 24), through the real bin: `worker --once` said "hosting 0
 * recovered agent(s)" and then ran the agents; a short dashboard token was refused as "invalid
 * token", naming neither the variable nor the flag; a fork without --run pointed at a second fork.
 */
const scratch = mkdtempSync(join(tmpdir(), 'cadre-newcomer-third-'));

function baseEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', LOG_LEVEL: 'error', ...extra };
  for (const k of ['DATABASE_URL', 'EVENT_STORE', 'ANTHROPIC_API_KEY', 'ANTHROPIC_BASE_URL', 'CADRE_DATA_DIR', 'WORKSPACE_REPO', 'WORKSPACE_BASE_PATH', 'CADRE_DASHBOARD_TOKEN']) if (!(k in extra)) delete env[k];
  return env;
}

describe('a third newcomer at the CLI', () => {
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it('worker --once says what it ran, counted by how each ended', async () => {
    const cadre = (...args: string[]): Promise<CliRun> => runCadre(args, baseEnv({ CADRE_DATA_DIR: join(scratch, 'once') }));
    const ids = [await spawnWithCli(cadre, 'first'), await spawnWithCli(cadre, 'second')];
    for (const id of ids) expect((await cadre('start', id)).code).toBe(0);
    const r = await cadre('worker', '--once');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/hosting 0/);
    expect(r.stderr).toMatch(/^worker --once: done; 2 agents ended on this store while it ran: 2 failed$/m); // 100 tokens each: too few for a turn
  }, 120_000);

  it('a dashboard token too short is refused naming where it came from', async () => {
    const fromEnv = await runCadre(['serve', '--port', '0'], baseEnv({ CADRE_DATA_DIR: join(scratch, 'serve'), CADRE_DASHBOARD_TOKEN: 'short' }));
    expect(fromEnv.code).toBe(2);
    expect(fromEnv.stderr).toMatch(/invalid CADRE_DASHBOARD_TOKEN: must be at least 8 characters/);
    const fromFlag = await runCadre(['serve', '--port', '0', '--token', 'short'], baseEnv({ CADRE_DATA_DIR: join(scratch, 'serve') }));
    expect(fromFlag.code).toBe(2);
    expect(fromFlag.stderr).toMatch(/invalid --token: must be at least 8 characters/);
  }, 60_000);

  it('a message to an agent fired before it read it is listed by inbox --dead, with why (it showed nowhere)', async () => {
    const cadre = (...args: string[]): Promise<CliRun> => runCadre(args, baseEnv({ CADRE_DATA_DIR: join(scratch, 'dead') }));
    const [from, to] = [await spawnWithCli(cadre, 'sender'), await spawnWithCli(cadre, 'reader')];
    expect((await cadre('send', from, to, '{"note":"please read"}')).code).toBe(0);
    expect((await cadre('fire', to, '--reason', 'not needed')).code).toBe(0);
    const inbox = await cadre('inbox', to);
    expect(inbox.stdout).toMatch(/inbox is empty \(--dead lists messages to it that will not be delivered\)/);
    const dead = await cadre('inbox', to, '--dead');
    expect(dead.code, dead.stderr).toBe(0);
    expect(dead.stdout).toMatch(/recipient terminated .*\{"note":"please read"\}/);
    expect(dead.stdout).toMatch(/1 dead letter, oldest first/);
    // Sending to it now is refused, with where to look.
    const late = await cadre('send', from, to, '{"note":"too late"}');
    expect(late.code).not.toBe(0);
    expect(late.stderr).toMatch(/cannot deliver to agent .*\n {2}hint: a message goes only to a live agent/);
    const both = await cadre('inbox', to, '--dead', '--claim');
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/invalid --dead: dead letters cannot be claimed/);
  }, 60_000);

  it('a fork made without --run says how to run it here: cadre start --wait, not a second fork', async () => {
    const cadre = (...args: string[]): Promise<CliRun> => runCadre(args, baseEnv({ CADRE_DATA_DIR: join(scratch, 'fork') }));
    const id = await spawnWithCli(cadre, 'source');
    const forked = await cadre('fork', id, '--at', '0');
    expect(forked.code, forked.stderr).toBe(0);
    expect(forked.stdout).toMatch(/or run it here with: cadre start \S+ --wait/);
    expect(forked.stdout).not.toMatch(/fork with --run/);
  }, 60_000);
});
