import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFaultSuite, type FaultSuite, type SeedReport } from '../faults/faultRun.js';

/**
 * The fault-injection suite at CI size (`npm run test:faults` runs it larger): a workflow of 5
 * layers of CADRE_FAULT_WIDTH nodes per seed (5 here: 25 nodes, which halves the suite's longest
 * file, 346 s for two 50-node seeds with other work beside it; `test:faults` runs 50) under SIGKILL, terminated connections, a Postgres restart (odd seeds), a git outage
 * (even seeds, with a worktree per agent) and a model that errors or hangs. runSeed itself
 * asserts the end state (see tests/faults/faultRun.ts); here we also check faults were injected.
 */
const SEEDS = Number(process.env.CADRE_FAULT_SEEDS ?? 2);
const FROM = Number(process.env.CADRE_FAULT_FROM ?? 1);
const WIDTH = Number(process.env.CADRE_FAULT_WIDTH ?? 5);

describe('fault injection: nothing lost or doubled', () => {
  let suite: FaultSuite;
  const reports: SeedReport[] = [];
  beforeAll(async () => {
    suite = await startFaultSuite();
  });
  afterAll(async () => {
    console.log(`[faults] ${reports.map((r) => `seed ${r.seed}: ${r.agents} agents, ${r.sigkills} SIGKILL, ${r.connectionsKilled} connections killed, ${r.pgRestarts} pg restarts, ${r.gitOutages} git outages (${r.gitFailures} git commands failed), ${r.modelErrors} model errors, ${r.modelHangs} model hangs, ${r.missed} missed`).join('; ')}`);
    await suite?.close();
  });

  for (let seed = FROM; seed < FROM + SEEDS; seed++) {
    const git = seed % 2 === 0;
    it(`seed ${seed}${git ? ' (worktrees, git outage)' : ' (Postgres restart)'}`, { timeout: 540_000 }, async () => {
      const r = await suite.runSeed(seed, { git, spanMs: 4000, width: WIDTH });
      reports.push(r);
      expect(r.status).toBe('completed');
      expect(r.agents, `every node ran; node outcomes:\n${r.nodeOutcomes.join('\n')}`).toBeGreaterThanOrEqual(5 * WIDTH + 1);
      // Faults that happened, not faults that were scheduled: the kill killed a running worker,
      // connections were really terminated, git commands really failed, the model really erred.
      expect(r.sigkills, 'SIGKILLs of a running worker').toBeGreaterThanOrEqual(1);
      expect(r.connectionsKilled, 'connections terminated').toBeGreaterThanOrEqual(1);
      if (git) expect(r.gitFailures, 'git commands failed by the outage').toBeGreaterThanOrEqual(1);
      else expect(r.pgRestarts, 'Postgres restarts').toBeGreaterThanOrEqual(1);
      expect(r.modelErrors + r.modelHangs, 'model faults').toBeGreaterThanOrEqual(1);
    });
  }
});
