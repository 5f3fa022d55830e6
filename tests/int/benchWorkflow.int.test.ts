import { describe, expect, it } from 'vitest';
import { benchWorkflow } from '../../bench/workflow.js';
import { testPgUrl } from '../support/testDb.js';

/** The server of the test run's database, as the bench's `benchDatabase` expects it in DATABASE_URL. */
function serverUrl(): string {
  const url = new URL(testPgUrl());
  url.pathname = '/postgres';
  return url.toString();
}

describe('npm run bench -- workflow', () => {
  it('runs the same workflow on cadre and on LangGraph at a tiny scale, with finite figures', async () => {
    const saved = process.env.DATABASE_URL;
    process.env.DATABASE_URL = saved ?? serverUrl();
    try {
      // A short statistics wait undercounts commits: this checks the plumbing, not the figures.
      const r = await benchWorkflow(0.01, { rounds: 1, sequentialRuns: 3, concurrentRuns: 6, concurrency: 3, warmUpRuns: 1, idleMs: 500, flushMs: 300, rawInserts: 50, print: false });
      for (const side of [r.cadre, r.langGraph]) {
        const [seq, conc] = [side.sequential[0]!, side.concurrent[0]!];
        expect([seq.runs, conc.runs, side.totalSteps]).toEqual([3, 6, 36]);
        for (const v of [seq.runsPerSec, seq.p50, seq.p99, conc.runsPerSec, conc.p50, conc.p99, seq.db.commits, conc.db.inserted]) expect(Number.isFinite(v)).toBe(true);
        expect(seq.runsPerSec).toBeGreaterThan(0);
        // The local test server runs here: both shares of a run's CPU are measured.
        for (const p of [seq, conc]) {
          expect(p.cpuMsPerRun.process).toBeGreaterThan(0);
          expect(p.cpuMsPerRun.server).toBeGreaterThanOrEqual(0);
        }
        expect([...side.total.tables.values()].reduce((n, t) => n + t.bytes, 0)).toBeGreaterThan(0);
      }
      // Counted from the events table, not from lazily flushed statistics: exact even here.
      expect([...r.cadre.total.events.values()].reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(r.cadre.totalSteps);
      expect(r.rawCommitsPerSec.every((v) => Number.isFinite(v) && v > 0)).toBe(true);
    } finally {
      if (saved === undefined) delete process.env.DATABASE_URL;
      else process.env.DATABASE_URL = saved;
    }
  });
});
