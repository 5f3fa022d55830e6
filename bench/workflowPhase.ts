import type pg from 'pg';
import { processCpuMs, serverCpu, serverCpuMsSince } from './cpuTime.js';
import type { QueryCensus } from './queryCensus.js';
import { percentile, sortNumbers } from './support.js';
import { WORKFLOW_ROLES } from './workflowModel.js';
import type { WorkflowSide } from './workflowSide.js';
import { contents, contentsDelta, dbCounters, dbDelta, type Contents, type DbCounters } from './workflowStats.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A side with the two connections its statistics are read on. */
export interface Measured {
  readonly side: WorkflowSide;
  /** To the server's admin database: reading pg_stat_database there commits nothing in the side's. */
  readonly admin: pg.Client;
  /** To the side's database, for its tables' sizes and counters (one commit per read, subtracted). */
  readonly local: pg.Client;
  /** Writes per second while the side does nothing (its background: leases, polling); see `measureIdle`. */
  idle: Rates;
  /** How long to wait for other backends' statistics (STATS_FLUSH_MS; shorter only where figures do not matter). */
  readonly flushMs: number;
  /** Counts the side's transactions by statement while its runs (and their settling) go on. */
  readonly census: QueryCensus;
}

/** Per-second rates of the database counters and of each table's rows. */
export interface Rates {
  readonly db: DbCounters;
  readonly contents: Contents;
}

export interface Phase {
  readonly runs: number;
  readonly runsPerSec: number;
  readonly p50: number;
  readonly p99: number;
  /** Counter deltas over the phase, less the reads' own commits and the idle tail (see `measurePhase`). */
  readonly db: DbCounters;
  readonly contents: Contents;
  readonly steps: number;
  /** CPU per run while the runs went on (settling not included): this process's, and the server's when it runs here (null: remote). */
  readonly cpuMsPerRun: { readonly process: number; readonly server: number | null };
}

const scaleDb = (d: DbCounters, k: number): DbCounters => ({ commits: d.commits * k, inserted: d.inserted * k, updated: d.updated * k, deleted: d.deleted * k });
const minusDb = (a: DbCounters, b: DbCounters): DbCounters => ({ commits: a.commits - b.commits, inserted: a.inserted - b.inserted, updated: a.updated - b.updated, deleted: a.deleted - b.deleted });

/** Table counters less `k` seconds of the idle rates (sizes untouched: idle writes update rows in place). */
function minusIdle(c: Contents, idle: Contents, k: number): Contents {
  const tables = new Map([...c.tables].map(([name, t]) => {
    const r = idle.tables.get(name);
    return [name, r ? { ...t, ins: t.ins - r.ins * k, upd: t.upd - r.upd * k, del: t.del - r.del * k } : t];
  }));
  return { ...c, tables };
}

/**
 * The side's background while nothing runs: counters over `ms` after the last run settled and
 * its statistics were flushed. cadre renews leases and polls on timers; those commits are not
 * per step, and the phases subtract them for the seconds they wait after their runs.
 */
export async function measureIdle(m: Measured, ms: number): Promise<Rates> {
  await m.side.settle();
  await sleep(m.flushMs);
  const a = await dbCounters(m.admin, m.side.dbName);
  const ac = await contents(m.local, m.side.eventsTable);
  await sleep(ms);
  const b = await dbCounters(m.admin, m.side.dbName);
  const bc = await contents(m.local, m.side.eventsTable);
  const k = 1000 / ms;
  const d = dbDelta(a, b);
  const rows = contentsDelta(ac, bc);
  const perSec = new Map([...rows.tables].map(([name, t]) => [name, { ins: t.ins * k, upd: t.upd * k, del: t.del * k, bytes: t.bytes * k }]));
  // `ac` was read inside the window: one commit of ours.
  return { db: scaleDb({ ...d, commits: d.commits - 1 }, k), contents: { tables: perSec, events: rows.events } };
}

/** `runs` runs, `concurrency` of them in flight at a time; latency per run in ms. */
async function runAll(side: WorkflowSide, runs: number, concurrency: number): Promise<number[]> {
  const ms: number[] = [];
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(concurrency, runs) }, async () => {
    while (next < runs) {
      next++;
      const t = performance.now();
      await side.run();
      ms.push(performance.now() - t);
    }
  }));
  return ms;
}

/** Unmeasured runs: connections opened, code compiled, tables' first pages allocated. */
export const warmUp = (side: WorkflowSide, runs: number, concurrency: number): Promise<number[]> => runAll(side, runs, concurrency);

/**
 * One measured phase. The window between the two pg_stat_database reads holds: the runs, the
 * side's settling (cadre's projections catching up, counted: they are its write path), the
 * flush wait, and one read of the side's own tables. Subtracted: that read's commit, the
 * settling's own queries, and the idle background for the seconds after the last run.
 */
export async function measurePhase(m: Measured, runs: number, concurrency: number): Promise<Phase> {
  const calls0 = m.side.calls;
  const before = await dbCounters(m.admin, m.side.dbName);
  const beforeC = await contents(m.local, m.side.eventsTable);
  m.census.on = true;
  const cpu0 = { process: processCpuMs(), server: serverCpu() };
  const t0 = performance.now();
  const latencies = sortNumbers(await runAll(m.side, runs, concurrency));
  const tEnd = performance.now();
  const serverMs = serverCpuMsSince(cpu0.server);
  const cpuMsPerRun = { process: (processCpuMs() - cpu0.process) / runs, server: serverMs === null ? null : serverMs / runs };
  const own = 1 + (await m.side.settle());
  m.census.on = false;
  await sleep(m.flushMs);
  const after = await dbCounters(m.admin, m.side.dbName);
  const tail = (performance.now() - tEnd) / 1000;
  const afterC = await contents(m.local, m.side.eventsTable);
  const calls = m.side.calls - calls0;
  if (calls !== runs * WORKFLOW_ROLES.length) throw new Error(`${m.side.name}: ${calls} model calls for ${runs} runs, expected ${runs * WORKFLOW_ROLES.length}`);
  const raw = dbDelta(before, after);
  return {
    runs,
    runsPerSec: runs / ((tEnd - t0) / 1000),
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    db: minusDb({ ...raw, commits: raw.commits - own }, scaleDb(m.idle.db, tail)),
    contents: minusIdle(contentsDelta(beforeC, afterC), m.idle.contents, tail),
    steps: runs * WORKFLOW_ROLES.length,
    cpuMsPerRun,
  };
}
