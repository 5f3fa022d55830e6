import pg from 'pg';
import { startCensus } from './queryCensus.js';
import { benchDatabase } from './support.js';
import { cadreSide } from './workflowCadre.js';
import { langGraphSide } from './workflowLangGraph.js';
import { fakeModel } from './workflowModel.js';
import { measureIdle, measurePhase, warmUp, type Measured, type Phase } from './workflowPhase.js';
import { printWorkflowReport } from './workflowReport.js';
import type { SideResult, WorkflowBenchResult, WorkflowSide } from './workflowSide.js';
import { contentsSum, STATS_FLUSH_MS } from './workflowStats.js';

export interface WorkflowBenchOptions {
  readonly rounds?: number;
  readonly sequentialRuns?: number;
  readonly concurrentRuns?: number;
  readonly concurrency?: number;
  readonly warmUpRuns?: number;
  readonly idleMs?: number;
  readonly rawInserts?: number;
  /** Wait for other backends' statistics; shorter than STATS_FLUSH_MS undercounts (quick checks only). */
  readonly flushMs?: number;
  /** Print the tables (default true). */
  readonly print?: boolean;
}

/** The physical limit: single-row INSERTs, one transaction each, on one connection. */
async function rawCommitsPerSec(url: string, n: number): Promise<number> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    await c.query('CREATE TABLE bench_raw_commits (id bigserial PRIMARY KEY, k text NOT NULL)');
    const t = performance.now();
    for (let i = 0; i < n; i++) await c.query('INSERT INTO bench_raw_commits (k) VALUES ($1)', ['k']);
    return n / ((performance.now() - t) / 1000);
  } finally {
    await c.query('DROP TABLE IF EXISTS bench_raw_commits');
    await c.end();
  }
}

const adminUrl = (url: string): string => {
  const u = new URL(url);
  u.pathname = '/postgres';
  return u.toString();
};

/**
 * `npm run bench -- workflow [--scale s]`: the same four-node sequential workflow (architect →
 * tester → implementer → reviewer, one fake model call per node) on cadre and on LangGraph JS
 * with its Postgres checkpointer, each on a fresh database of the same server, in interleaved
 * rounds after a warm-up. Reports the median round: runs/s and latency one at a time and with
 * 50 in flight, and per agent step the commits, rows and bytes each side's database took;
 * then cadre's writes by table and its events by type.
 *
 * @example
 * const r = await benchWorkflow(0.05, { rounds: 1, print: false });
 * console.log(r.cadre.sequential[0]!.runsPerSec, r.langGraph.sequential[0]!.runsPerSec);
 */
export async function benchWorkflow(scale = 1, options: WorkflowBenchOptions = {}): Promise<WorkflowBenchResult> {
  const rounds = options.rounds ?? 5;
  const sequentialRuns = options.sequentialRuns ?? Math.max(10, Math.round(200 * scale));
  const concurrency = options.concurrency ?? 50;
  const concurrentRuns = options.concurrentRuns ?? Math.max(concurrency, Math.round(200 * scale));
  const warmUpRuns = options.warmUpRuns ?? Math.max(5, Math.round(20 * scale));
  const idleMs = options.idleMs ?? 10_000;
  const rawInserts = options.rawInserts ?? Math.max(300, Math.round(2000 * scale));
  const flushMs = options.flushMs ?? STATS_FLUSH_MS;

  const dbs: { url: string; source: string; cleanup(): Promise<void> }[] = [];
  const closers: (() => Promise<void>)[] = [];
  try {
    const cadreDb = await benchDatabase();
    dbs.push(cadreDb);
    const lgDb = await benchDatabase();
    dbs.push(lgDb);
    const raw = [await rawCommitsPerSec(lgDb.url, rawInserts)];
    const census = startCensus([cadreDb.url, lgDb.url].map((u) => new URL(u).pathname.slice(1)));
    closers.push(async () => census.stop());

    const open = async (makeSide: () => Promise<WorkflowSide>, url: string): Promise<Measured> => {
      const admin = new pg.Client({ connectionString: adminUrl(url) });
      await admin.connect();
      closers.push(() => admin.end());
      const local = new pg.Client({ connectionString: url });
      await local.connect();
      closers.push(() => local.end());
      census.ignore(admin);
      census.ignore(local);
      const side = await makeSide();
      closers.push(() => side.close());
      const zero = { db: { commits: 0, inserted: 0, updated: 0, deleted: 0 }, contents: { tables: new Map(), events: new Map() } };
      return { side, admin, local, idle: zero, flushMs, census };
    };
    const sides = [
      await open(() => cadreSide(cadreDb.url, fakeModel()), cadreDb.url),
      await open(() => langGraphSide(lgDb.url, fakeModel()), lgDb.url),
    ] as const;
    for (const m of sides) {
      await warmUp(m.side, warmUpRuns, 1);
      await warmUp(m.side, concurrency, concurrency);
    }
    // Both idle at once: separate databases, and the wait is long.
    await Promise.all(sides.map(async (m) => (m.idle = await measureIdle(m, idleMs))));

    const results = sides.map((m) => ({ m, sequential: [] as Phase[], concurrent: [] as Phase[] }));
    for (let r = 0; r < rounds; r++) {
      // Alternate who goes first, so neither always runs on a server still busy with the other's work.
      for (const s of r % 2 === 0 ? results : [...results].reverse()) {
        s.sequential.push(await measurePhase(s.m, sequentialRuns, 1));
        s.concurrent.push(await measurePhase(s.m, concurrentRuns, concurrency));
        if (process.env.CADRE_BENCH_VERBOSE) process.stderr.write(`round ${r + 1}: ${s.m.side.name} ${s.sequential.at(-1)!.runsPerSec.toFixed(1)} / ${s.concurrent.at(-1)!.runsPerSec.toFixed(1)} runs/s\n`);
      }
    }
    raw.push(await rawCommitsPerSec(lgDb.url, rawInserts));

    const summary = (s: (typeof results)[number]): SideResult => {
      const phases = [...s.sequential, ...s.concurrent];
      return {
        name: s.m.side.name,
        sequential: s.sequential,
        concurrent: s.concurrent,
        idle: s.m.idle,
        total: phases.map((p) => p.contents).reduce(contentsSum),
        totalSteps: phases.reduce((n, p) => n + p.steps, 0),
        transactions: census.counts(s.m.side.dbName),
      };
    };
    const result: WorkflowBenchResult = { cadre: summary(results[0]!), langGraph: summary(results[1]!), concurrency, rawCommitsPerSec: raw };
    if (options.print !== false) printWorkflowReport(result, { rounds, sequentialRuns, concurrentRuns, source: cadreDb.source });
    return result;
  } finally {
    for (const close of closers.reverse()) await close().catch((err: unknown) => console.error('closing:', err));
    for (const db of dbs) await db.cleanup().catch((err: unknown) => console.error('dropping a bench database:', err));
  }
}
