import { afterAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import type { AgentSystem } from '../../src/system.js';
import { testSystem } from '../support/system.js';
import { freshSchema, testPgUrl } from '../support/testDb.js';
import { checkTreeAtRest } from '../support/actorsInvariants.js';

/**
 * SIGKILL at a random moment, then recovery in a fresh system: every agent ends exactly once,
 * no recorded intent is answered twice, the budget is conserved.
 */

const SEEDS = Array.from({ length: Number(process.env.CADRE_CRASH_SEEDS ?? 5) }, (_, i) => i + 1);
const worker = fileURLToPath(new URL('../support/crashWorker.ts', import.meta.url));

/** Kill delays spread over the whole run (spawning ≈ the first 300 ms, running ≈ 1–2 s after). */
const delayFor = (seed: number): number => {
  let x = (seed * 2654435761) >>> 0;
  x = (x ^ (x >>> 15)) >>> 0;
  // Cycle through the run's length (~1.5 s) so every seed, however many, kills mid-run.
  return ((seed - 1) % 5) * 300 + (x % 200);
};

async function countEvents(schema: string): Promise<number> {
  const c = new pg.Client({ connectionString: testPgUrl() });
  await c.connect();
  try {
    const r = await c.query<{ n: string }>(`SELECT count(*) AS n FROM ${schema}.events`);
    return Number(r.rows[0]!.n);
  } finally {
    await c.end();
  }
}

interface Killed {
  readonly rootId: string;
  readonly killedAfterMs: number;
  readonly finishedBeforeKill: boolean;
}

function runAndKill(schema: string, delayMs: number): Promise<Killed> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', worker], {
      env: { ...process.env, CRASH_PG_URL: testPgUrl(), CRASH_SCHEMA: schema },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let rootId: string | null = null;
    let finished = false;
    let stderr = '';
    let t0 = 0;
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    createInterface({ input: child.stdout }).on('line', (line) => {
      const msg = JSON.parse(line) as { root?: string; done?: string };
      if (msg.root) {
        rootId = msg.root;
        t0 = performance.now();
        setTimeout(() => child.kill('SIGKILL'), delayMs);
      }
      if (msg.done) finished = true;
    });
    child.on('exit', (code, signal) => {
      if (!rootId) return reject(new Error(`worker exited (${code ?? signal}) before spawning: ${stderr}`));
      if (signal !== 'SIGKILL' && !finished) return reject(new Error(`worker failed (${code}): ${stderr}`));
      resolve({ rootId, killedAfterMs: Math.round(performance.now() - t0), finishedBeforeKill: finished });
    });
  });
}

describe('crash: SIGKILL a worker mid-run, recover in a fresh system', () => {
  const systems: AgentSystem[] = [];
  afterAll(async () => {
    for (const s of systems) await s.close();
  });
  const report: string[] = [];
  afterAll(() => console.log(`crash points: ${report.join('; ')}`));

  for (const seed of SEEDS) {
    it(`seed ${seed}: killed after ~${delayFor(seed)} ms, recovery finishes the run exactly once`, async () => {
      const schema = freshSchema('crash');
      const killed = await runAndKill(schema, delayFor(seed));
      const atKill = await countEvents(schema);
      const system = await testSystem('postgres', { schema, model: { provider: 'offline', latencyMs: 2 }, maxConcurrentAgents: 3 });
      systems.push(system);
      const result = await system.run(killed.rootId);
      expect(['completed', 'failed']).toContain(result.status);
      const { ids } = await checkTreeAtRest(system, killed.rootId);
      expect(result.status).toBe('completed');
      // Every agent the worker managed to record is part of the finished tree.
      const c = new pg.Client({ connectionString: testPgUrl() });
      await c.connect();
      const streams = await c.query<{ stream_id: string }>(`SELECT DISTINCT stream_id FROM ${schema}.events`);
      await c.end();
      expect(streams.rows.map((r) => r.stream_id.replace(/^agent-/, '')).sort()).toEqual([...ids].sort());
      report.push(`seed ${seed}: ${killed.finishedBeforeKill ? 'finished before kill' : `killed at ${killed.killedAfterMs} ms`}, ${atKill} events then, ${ids.length} agents`);
      await system.close();
    });
  }
});
