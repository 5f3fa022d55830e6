import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCadre, type CliRun as Run } from '../support/cadreCli.js';
import { tokens } from '../../src/cli/render/style.js';

const dataDir = mkdtempSync(join(tmpdir(), 'cadre-cli-e2e-'));

/** Runs the real bin against a temp CADRE_DATA_DIR, no DATABASE_URL, no API key. */
async function cadre(...args: string[]): Promise<Run> {
  const env: NodeJS.ProcessEnv = { ...process.env, CADRE_DATA_DIR: join(dataDir, 'db'), NO_COLOR: '1', LOG_LEVEL: 'error' };
  delete env.DATABASE_URL;
  delete env.EVENT_STORE;
  delete env.ANTHROPIC_API_KEY;
  return runCadre(args, env);
}

describe('cadre CLI (the real bin)', () => {
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));
  let rootId = '';

  it('runs the demo end to end and says how to inspect it', async () => {
    const started = Date.now();
    const r = await cadre('demo');
    console.log(`[cli e2e] demo wall time ${((Date.now() - started) / 1000).toFixed(1)} s\n${r.stdout}`);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/completed: \d+ agents, [\d.k]+ tokens/);
    expect(r.stdout).toContain('files changed per branch');
    // The summary table's workflow row counts what its subtree spent, as the totals line does
    // (it said 0 beside a tree row of 16k).
    const total = /completed: \d+ agents, ([\d.k]+) tokens/.exec(r.stdout)![1];
    const rows = r.stdout.split('\n');
    const rootRow = rows[rows.findIndex((l) => l.startsWith('AGENT ')) + 2]!;
    expect(rootRow.trim().split(/\s+/)[3], rootRow).toBe(total);
    const m = /cadre history ([0-9a-f-]{36})/.exec(r.stdout);
    expect(m).not.toBeNull();
    rootId = m![1]!;
  }, 180_000);

  it('tree --json, status, history and replay --to read what the demo recorded', async () => {
    const tree = await cadre('tree', rootId, '--json');
    expect(tree.code).toBe(0);
    const parsed = JSON.parse(tree.stdout) as { id: string; status: string; children: Array<{ id: string; status: string }> };
    expect(parsed.id).toBe(rootId);
    expect(parsed.status).toBe('completed');
    expect(parsed.children.length).toBeGreaterThanOrEqual(3);
    expect(parsed.children.every((c) => c.status === 'completed')).toBe(true);

    const status = await cadre('status', rootId.slice(0, 8));
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/status\s+completed/);
    // The workflow spent through its nodes: its cost line says what the subtree used.
    const treeTokens = (JSON.parse((await cadre('tree', rootId, '--json')).stdout) as { subtreeConsumed: number }).subtreeConsumed;
    expect(treeTokens).toBeGreaterThan(0);
    expect(status.stdout).toMatch(/cost\s+\$[\d.]+ with its subtree/);
    expect(status.stdout).toContain(`with its subtree (${tokens(treeTokens)} tokens)`);

    const history = await cadre('history', rootId, '--json');
    expect(history.code).toBe(0);
    const events = JSON.parse(history.stdout) as Array<{ type: string; revision: number; position: number }>;
    expect(events[0]!.type).toBe('AgentSpawned');
    expect(events.map((e) => e.revision)).toEqual(events.map((_, i) => i)); // numbers, as the API gives them
    expect(events.every((e, i) => typeof e.position === 'number' && (i === 0 || e.position > events[i - 1]!.position))).toBe(true);
    // The demo's root is a workflow: it plans and delegates; its nodes talk to the model.
    // Its nodes start with their ChildSpawned (v4) and complete with their ChildFinished (v3).
    expect(events.map((e) => e.type)).toEqual(expect.arrayContaining(['WorkflowPlanned', 'ChildSpawned', 'ChildFinished', 'AgentCompleted']));
    expect(events.map((e) => e.type)).not.toContain('NodeStarted');
    const nodeHistory = await cadre('history', parsed.children[0]!.id, '--json');
    expect((JSON.parse(nodeHistory.stdout) as Array<{ type: string }>).map((e) => e.type)).toContain('ModelReplied');

    const replay = await cadre('replay', rootId, '--to', '0', '--json');
    expect(replay.code).toBe(0);
    expect(JSON.parse(replay.stdout) as { status: string; revision: number }).toMatchObject({ status: 'spawned', revision: 0 });
  }, 180_000);

  it('bad input exits 2 with one line and a hint; unknown agents exit 3', async () => {
    const bad = await cadre('replay', rootId, '--to', 'yesterday');
    expect(bad.code).toBe(2);
    expect(bad.stderr.split('\n')[0]).toMatch(/^cadre: invalid --to "yesterday"/);
    expect(bad.stderr).toContain('hint:');

    const usage = await cadre('spawn', '--role', 'x');
    expect(usage.code).toBe(2);
    expect(usage.stderr.split('\n')[0]).toMatch(/^cadre: required option/);

    const missing = await cadre('status', '00000000-0000-4000-8000-000000000000');
    expect(missing.code).toBe(3);
    expect(missing.stderr).toMatch(/^cadre: agent 00000000-0000-4000-8000-000000000000 not found\n {2}hint:/);
  }, 180_000);
});
