import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAgentSystem, type AgentSystem } from '../../src/system.js';
import { startDashboard } from '../../src/dashboard/server.js';
import { runCadre } from '../support/cadreBin.js';
import { httpRequest } from '../support/httpRequest.js';
import { authorized } from '../support/dashboardAuth.js';

/**
 * A chain 3,000 agents deep (built through the API, small budgets, nothing run): the CLI's tree
 * (one root, the recent-roots listing, JSON) and the dashboard's tree once died with "Maximum
 * call stack size exceeded" on recursive walks.
 */
const DEPTH = 3_000;

describe(`a chain ${DEPTH} deep through the CLI and the dashboard`, () => {
  let dir: string;
  let system: AgentSystem;
  let rootId: string;
  let leafId: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cadre-deep-'));
    system = await createAgentSystem({ store: { kind: 'pglite', dataDir: join(dir, 'db') }, env: {}, model: { provider: 'offline' } });
    const root = await system.spawn({ role: 'level-0', task: 'top', budget: DEPTH + 1 });
    let at = root;
    for (let i = 1; i <= DEPTH; i++) at = await at.spawn({ role: `level-${i}`, task: 'down', budget: DEPTH + 1 - i });
    rootId = root.id;
    leafId = at.id;
  }, 600_000);
  afterAll(async () => {
    await system?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('the dashboard serves the whole tree', async () => {
    const dash = await startDashboard({ system, port: 0 });
    try {
      // What is under test is that the tree is served at all (a recursive walk overflowed the
      // stack); building it took 6.9 s on an idle machine and passed the default 10 s wait in a
      // loaded CI run.
      const r = await httpRequest(dash.port, `/api/tree/${rootId}`, { headers: { host: `127.0.0.1:${dash.port}`, ...authorized(dash) }, timeoutMs: 60_000 });
      expect(r.status, r.body.slice(0, 300)).toBe(200);
      let node = JSON.parse(r.body) as { id: string; depth: number; children: unknown[] };
      while (node.children.length > 0) node = node.children[0] as typeof node;
      expect(node).toMatchObject({ id: leafId, depth: DEPTH });
    } finally {
      await dash.close();
    }
  });

  it('cadre tree shows it: one root, the recent roots, and JSON', { timeout: 300_000 }, async () => {
    await system.close(); // PGlite's data directory has one user at a time
    const env = { CADRE_DATA_DIR: join(dir, 'db'), LOG_LEVEL: 'error' };
    const one = await runCadre(['tree', rootId], env);
    expect(one.stderr).not.toMatch(/call stack/);
    expect(one.code, one.stderr).toBe(0);
    const lines = one.stdout.trim().split('\n');
    expect(lines).toHaveLength(DEPTH + 1);
    expect(lines.at(-1)).toContain(`[${DEPTH}] level-${DEPTH}`);
    expect(Math.max(...lines.map((l) => l.length))).toBeLessThan(400); // guides stop widening

    const recent = await runCadre(['tree'], env);
    expect(recent.code, recent.stderr).toBe(0);
    expect(recent.stdout).toContain(`${DEPTH + 1} agents, root ${rootId}`);

    const json = await runCadre(['tree', rootId, '--json'], env);
    expect(json.code, json.stderr).toBe(0);
    let node = JSON.parse(json.stdout) as { id: string; depth: number; subtreeConsumed: number; children: unknown[] };
    let levels = 0;
    while (node.children.length > 0) {
      node = node.children[0] as typeof node;
      levels++;
    }
    expect(levels).toBe(DEPTH);
    expect(node.id).toBe(leafId);
  });
});
