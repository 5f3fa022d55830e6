import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cadre, cadreInBackground, type Background } from '../support/embeddedCli.js';

/**
 * An embedded store (CADRE_DATA_DIR, no DATABASE_URL) used from several shells at once, as a new
 * user would: real `node bin/cadre.js` processes, the offline model. PGlite is one process's
 * database; before the folder lock, a second process wrote its own view of the folder and the
 * last to close erased the other's work (issue 16, case 1).
 */
interface TreeNode { id: string; children: TreeNode[] }
const count = (t: TreeNode): number => 1 + t.children.reduce((a, c) => a + count(c), 0);

async function agentsIn(dataDir: string): Promise<number> {
  const r = await cadre(dataDir, 'tree', '--json', '--limit', '50');
  expect(r.code, r.stderr).toBe(0);
  return (JSON.parse(r.stdout) as TreeNode[]).reduce((a, t) => a + count(t), 0);
}

/** tdd-workflow: the workflow agent and its 4 nodes. */
const TDD_AGENTS = 5;
const LOCKED = /the embedded store .* is in use by process (\d+) \(cadre [a-z]+/;

describe('one process owns an embedded store', () => {
  const dirs: string[] = [];
  const background: Background[] = [];
  const tempStore = (): string => {
    const d = mkdtempSync(join(tmpdir(), 'cadre-userpath-'));
    dirs.push(d);
    return join(d, 'db');
  };
  const serve = async (dataDir: string): Promise<Background> => {
    const b = await cadreInBackground(dataDir, ['serve', '--port', '0'], /dashboard: http/);
    background.push(b);
    return b;
  };
  afterEach(async () => {
    for (const b of background.splice(0)) await b.stop('SIGKILL');
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('the issue\'s reproduction: reads work while the dashboard holds the folder, a run is refused naming it, and nothing vanishes when the dashboard stops', async () => {
    const db = tempStore();
    const first = await cadre(db, 'spawn', '--role', 'before', '--task', 't', '--budget', '1000', '--run');
    expect(first.code, first.stderr).toBe(0);

    const dash = await serve(db);
    expect(await agentsIn(db)).toBe(1);
    // A dry run only reads: it goes through the dashboard's process too; a real cleanup waits.
    const dryRun = await cadre(db, 'workspaces', 'cleanup', '--dry-run', '--json');
    expect(dryRun.code, dryRun.stderr).toBe(0);
    expect(JSON.parse(dryRun.stdout)).toMatchObject({ dryRun: true });
    const cleanup = await cadre(db, 'workspaces', 'cleanup');
    expect(cleanup.stderr).toMatch(LOCKED);
    const refused = await cadre(db, 'run', 'y', '--template', 'tdd-workflow', '--budget', '50000');
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain(db);
    expect(refused.stderr).toMatch(LOCKED);
    expect(Number(LOCKED.exec(refused.stderr)![1])).toBe(dash.pid);
    expect(refused.stderr).toMatch(/stop that process|DATABASE_URL/);
    await dash.stop();

    const run = await cadre(db, 'run', 'y', '--template', 'tdd-workflow', '--budget', '50000');
    expect(run.code, run.stderr).toBe(0);
    const again = await serve(db);
    expect(await agentsIn(db)).toBe(1 + TDD_AGENTS); // through the dashboard's process
    // projections status through the holder reports the holder's checkpoints, not position 0.
    // (The holder's runner catches up on start: asked again while any is still at 0, up to 10 times.)
    let positions: Array<{ name: string; position: string }> = [];
    for (let i = 0; i < 10 && (positions.length === 0 || positions.some((p) => BigInt(p.position) === 0n)); i++) {
      const status = await cadre(db, 'projections', 'status', '--json');
      expect(status.code, status.stderr).toBe(0);
      positions = JSON.parse(status.stdout) as typeof positions;
    }
    for (const p of positions) expect(BigInt(p.position), p.name).toBeGreaterThan(0n);
    await again.stop();
    expect(await agentsIn(db)).toBe(1 + TDD_AGENTS); // and still there once it has closed
  }, 900_000);

  it('two `cadre run` at once on one folder: one is refused clearly, the other\'s work is all there', async () => {
    const db = tempStore();
    await cadre(db, 'migrate'); // creates the store, so both runs below only race for the lock
    const runs = await Promise.all([1, 2].map((n) => cadre(db, 'run', `task ${n}`, '--template', 'tdd-workflow', '--budget', '50000')));
    const ok = runs.filter((r) => r.code === 0);
    for (const r of runs.filter((x) => x.code !== 0)) expect(r.stderr).toMatch(LOCKED);
    expect(ok.length).toBeGreaterThanOrEqual(1);
    expect(await agentsIn(db)).toBe(TDD_AGENTS * ok.length);
  }, 900_000);

  it('read commands started close together on one folder all succeed, though each that found it free exits when done', async () => {
    const db = tempStore();
    const spawned = await cadre(db, 'spawn', '--role', 'looked-at', '--task', 't', '--budget', '1000', '--json');
    expect(spawned.code, spawned.stderr).toBe(0);
    const id = (JSON.parse(spawned.stdout) as { id: string }).id;
    // The user's shells: `cadre status <id> & sleep 0.5; cadre budget <id>`, and trees 0.3 s apart.
    // The first to start holds the folder and exits when its command is done, under the others' reads.
    const commands = [['status', id, '--json'], ['budget', id, '--json'], ['tree', id, '--json'], ['tree', id, '--json'], ['status', id, '--json'], ['tree', id, '--json'], ['budget', id, '--json'], ['tree', id, '--json']];
    const runs = await Promise.all(commands.map(async (args, i) => {
      await new Promise((r) => setTimeout(r, i * 300)); // staggered starts, the load under test
      return { args, r: await cadre(db, ...args) };
    }));
    for (const { args, r } of runs) {
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
      expect(r.stderr, args.join(' ')).toBe('');
      expect(JSON.stringify(JSON.parse(r.stdout)), args.join(' ')).toContain(id);
    }
  }, 900_000);

  it('a holder killed with SIGKILL frees the folder: the next process takes it and finds everything written before', async () => {
    const db = tempStore();
    expect((await cadre(db, 'spawn', '--role', 'first', '--task', 't', '--budget', '1000', '--run')).code).toBe(0);
    const dash = await serve(db);
    const refused = await cadre(db, 'spawn', '--role', 'second', '--task', 't', '--budget', '1000');
    expect(refused.stderr).toMatch(LOCKED);
    expect(await dash.stop('SIGKILL')).toBe('SIGKILL');

    const second = await cadre(db, 'spawn', '--role', 'second', '--task', 't', '--budget', '1000', '--run');
    expect(second.code, second.stderr).toBe(0);
    expect(await agentsIn(db)).toBe(2);
  }, 900_000);
});
