import { availableParallelism } from 'node:os';
import { fmt, printGrid } from './support.js';
import type { SideResult, WorkflowBenchResult } from './workflowSide.js';
import type { Phase } from './workflowPhase.js';
import { totalBytes } from './workflowStats.js';

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length === 0 ? NaN : s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

/** The median round of one side: speed per phase, and storage per agent step over both phases. */
export function medians(s: SideResult): Record<'seqRate' | 'seqP50' | 'seqP99' | 'concRate' | 'concP50' | 'concP99' | 'commits' | 'busyCommits' | 'inserted' | 'updated' | 'bytes' | 'seqCpu' | 'seqServerCpu' | 'concCpu' | 'concServerCpu', number> {
  const rounds = s.sequential.map((p, i) => [p, s.concurrent[i]!] as const);
  const perStep = (f: (p: Phase) => number): number => median(rounds.map(([a, b]) => (f(a) + f(b)) / (a.steps + b.steps)));
  return {
    seqRate: median(s.sequential.map((p) => p.runsPerSec)),
    seqP50: median(s.sequential.map((p) => p.p50)),
    seqP99: median(s.sequential.map((p) => p.p99)),
    concRate: median(s.concurrent.map((p) => p.runsPerSec)),
    concP50: median(s.concurrent.map((p) => p.p50)),
    concP99: median(s.concurrent.map((p) => p.p99)),
    commits: perStep((p) => p.db.commits),
    // Less the background the side also commits while idle (polling, leases), for the runs' duration.
    busyCommits: perStep((p) => p.db.commits - s.idle.db.commits * (p.runs / p.runsPerSec)),
    inserted: perStep((p) => p.db.inserted),
    updated: perStep((p) => p.db.updated),
    bytes: perStep((p) => totalBytes(p.contents)),
    seqCpu: median(s.sequential.map((p) => p.cpuMsPerRun.process)),
    seqServerCpu: median(s.sequential.map((p) => p.cpuMsPerRun.server ?? NaN)),
    concCpu: median(s.concurrent.map((p) => p.cpuMsPerRun.process)),
    concServerCpu: median(s.concurrent.map((p) => p.cpuMsPerRun.server ?? NaN)),
  };
}

const x = (r: number): string => (Number.isFinite(r) ? `${fmt(r, 2)}×` : 'n/a');
const cores = availableParallelism();
const mark = (label: string, ok: boolean): string => `${label}: ${ok ? 'met' : 'not met'}`;

function mainTable(r: WorkflowBenchResult, title: string): void {
  const c = medians(r.cadre);
  const l = medians(r.langGraph);
  const ms = (a: number, b: number): string => `${fmt(a, 1)} / ${fmt(b, 1)}`;
  const n = r.concurrency;
  printGrid(title, ['per figure (median round)', 'cadre', 'LangGraph', 'ratio (>1: cadre better)', 'required', 'goal'], [
    ['runs/s, one at a time', fmt(c.seqRate, 1), fmt(l.seqRate, 1), x(c.seqRate / l.seqRate), mark('≥1.5×', c.seqRate >= 1.5 * l.seqRate), mark('≥3×', c.seqRate >= 3 * l.seqRate)],
    ['ms per run p50 / p99, one at a time', ms(c.seqP50, c.seqP99), ms(l.seqP50, l.seqP99), `${x(l.seqP50 / c.seqP50)} / ${x(l.seqP99 / c.seqP99)}`, '', ''],
    [`runs/s, ${n} in flight`, fmt(c.concRate, 1), fmt(l.concRate, 1), x(c.concRate / l.concRate), mark('≥2×', c.concRate >= 2 * l.concRate), mark('≥4×', c.concRate >= 4 * l.concRate)],
    [`ms per run p50 / p99, ${n} in flight`, ms(c.concP50, c.concP99), ms(l.concP50, l.concP99), `${x(l.concP50 / c.concP50)} / ${x(l.concP99 / c.concP99)}`, '', ''],
    ['commits per agent step', fmt(c.commits, 2), fmt(l.commits, 2), x(l.commits / c.commits), mark('≤4', c.commits <= 4), mark('≤2', c.commits <= 2)],
    ['  the same, less the idle background during the runs', fmt(c.busyCommits, 2), fmt(l.busyCommits, 2), x(l.busyCommits / c.busyCommits), '', ''],
    ['rows inserted per agent step', fmt(c.inserted, 2), fmt(l.inserted, 2), x(l.inserted / c.inserted), '', ''],
    ['rows updated per agent step', fmt(c.updated, 2), fmt(l.updated, 2), x(l.updated / c.updated), '', ''],
    ['bytes stored per agent step', fmt(c.bytes), fmt(l.bytes), x(l.bytes / c.bytes), mark('≤ LangGraph', c.bytes <= l.bytes), mark('≤ ⅓ LangGraph', c.bytes * 3 <= l.bytes)],
    ['CPU ms per run, one at a time: this process / Postgres', ms(c.seqCpu, c.seqServerCpu), ms(l.seqCpu, l.seqServerCpu), `${x(l.seqCpu / c.seqCpu)} / ${x(l.seqServerCpu / c.seqServerCpu)}`, '', ''],
    [`CPU ms per run, ${n} in flight: this process / Postgres`, ms(c.concCpu, c.concServerCpu), ms(l.concCpu, l.concServerCpu), `${x(l.concCpu / c.concCpu)} / ${x(l.concServerCpu / c.concServerCpu)}`, '', ''],
  ]);
}

function limitTable(r: WorkflowBenchResult): void {
  const raw = r.rawCommitsPerSec;
  const limit = raw.reduce((a, b) => a + b, 0) / raw.length;
  const msPerCommit = 1000 / limit;
  const rows = [r.cadre, r.langGraph].map((s) => {
    const m = medians(s);
    const perRun = m.commits * 4;
    return [
      `${s.name}: commits per run, one at a time`,
      `${fmt(perRun, 1)} (${fmt(m.seqRate * perRun)} commits/s, ${fmt(((m.seqRate * perRun) / limit) * 100)}% of the raw rate)`,
      'read-only ones included: they flush no WAL, and several connections overlap, so over 100% is possible',
    ];
  });
  printGrid('the physical limit, measured in the same run', ['figure', 'value', 'note'], [
    ['raw single-row INSERT commits/s, 1 connection', raw.map((v) => fmt(v)).join(' / '), `before / after the rounds: ${fmt(msPerCommit, 3)} ms per commit`],
    ...rows,
    ['a run at 1 commit per step on 1 connection', `${fmt(limit / 4, 0)} runs/s`, 'the floor a one-at-a-time run cannot beat without group commit'],
    ...[r.cadre, r.langGraph].map((s) => {
      const m = medians(s);
      const cpu = m.concCpu + m.concServerCpu;
      return [
        `${s.name}: runs/s its CPU allows on ${cores} cores, ${r.concurrency} in flight`,
        Number.isFinite(cpu) ? `${fmt((cores * 1000) / cpu, 0)} runs/s (${fmt(cpu, 1)} ms of CPU per run, this process and Postgres)` : 'n/a (the server is not on this machine)',
        'the ceiling when every core is busy; one process runs its JavaScript on one of them',
      ];
    }),
    requiredCpuRow(r),
  ]);
}

/**
 * What the required ratio at N in flight leaves each run, were every core busy: twice
 * LangGraph's rate on this machine's cores bounds cadre's CPU per run (process and Postgres).
 */
function requiredCpuRow(r: WorkflowBenchResult): string[] {
  const c = medians(r.cadre);
  const l = medians(r.langGraph);
  const allowed = (cores * 1000) / (2 * l.concRate);
  return [
    `CPU per run the required 2× at ${r.concurrency} in flight allows on ${cores} cores`,
    `≤ ${fmt(allowed, 1)} ms (cadre: ${fmt(c.concCpu + c.concServerCpu, 1)}, of which Postgres ${fmt(c.concServerCpu, 1)})`,
    'every core busy at twice LangGraph\'s measured rate: a bound, not a forecast',
  ];
}

/** Row writes per agent step by table, all measured phases added up. */
function tableBreakdown(s: SideResult): void {
  const per = (v: number): string => fmt(v / s.totalSteps, 2);
  const rows = [...s.total.tables]
    .map(([name, t]) => ({ name, ...t, writes: t.ins + t.upd + t.del, idle: s.idle.contents.tables.get(name) }))
    .filter((t) => t.writes > 0.5 || t.bytes !== 0 || (t.idle && t.idle.ins + t.idle.upd + t.idle.del > 0))
    .sort((a, b) => b.writes - a.writes);
  const sum = (f: (t: (typeof rows)[number]) => number): number => rows.reduce((n, t) => n + f(t), 0);
  const idleWrites = (t: (typeof rows)[number]): number => (t.idle ? t.idle.ins + t.idle.upd + t.idle.del : 0);
  printGrid(
    `${s.name}: row writes per agent step by table (pg_stat_user_tables, ${s.totalSteps} steps over every measured phase; idle background subtracted)`,
    ['table', 'inserted', 'updated', 'deleted', 'writes', 'bytes', 'idle writes/s'],
    [
      ...rows.map((t) => [t.name, per(t.ins), per(t.upd), per(t.del), per(t.writes), fmt(t.bytes / s.totalSteps), fmt(idleWrites(t), 2)]),
      ['total', per(sum((t) => t.ins)), per(sum((t) => t.upd)), per(sum((t) => t.del)), per(sum((t) => t.writes)), fmt(sum((t) => t.bytes) / s.totalSteps), fmt(sum(idleWrites), 2)],
    ],
  );
  console.log(`${s.name} idle background: ${fmt(s.idle.db.commits, 1)} commits/s, ${fmt(sum(idleWrites), 1)} row writes/s (subtracted for the seconds each phase waited after its runs)`);
}

/** Bytes stored per agent step by relation (heap, index, TOAST), all measured phases added up: where the bytes go. */
function relationBreakdown(s: SideResult): void {
  const rows = [...(s.total.relations ?? [])].filter(([, n]) => n !== 0).sort((a, b) => b[1] - a[1]);
  if (rows.length === 0) return;
  const total = rows.reduce((n, [, v]) => n + v, 0);
  printGrid(`${s.name}: bytes stored per agent step by relation (pg_relation_size deltas; a relation grows by 8 kB pages, so small ones read in steps of 8,192 / ${s.totalSteps})`, ['relation', 'bytes per agent step', 'share'], [
    ...rows.map(([name, n]) => [name, fmt(n / s.totalSteps), `${fmt((n / total) * 100)}%`]),
    ['total', fmt(total / s.totalSteps), '100%'],
  ]);
}

function eventBreakdown(s: SideResult): void {
  const rows = [...s.total.events].filter(([, n]) => n > 0).sort((a, b) => b[1] - a[1]);
  const total = rows.reduce((n, [, v]) => n + v, 0);
  printGrid(`${s.name}: events per agent step by type (${s.totalSteps} steps)`, ['event type', 'per agent step', 'per run'], [
    ...rows.map(([type, n]) => [type, fmt(n / s.totalSteps, 2), fmt((n / s.totalSteps) * 4, 2)]),
    ['total', fmt(total / s.totalSteps, 2), fmt((total / s.totalSteps) * 4, 2)],
  ]);
}

/** Which statements make the commits: the client's count, runs and settling only. */
function transactionBreakdown(s: SideResult, top = 25): void {
  const rows = [...s.transactions].sort((a, b) => b[1] - a[1]);
  const total = rows.reduce((n, [, v]) => n + v, 0);
  const shown = rows.slice(0, top);
  const rest = rows.slice(top).reduce((n, [, v]) => n + v, 0);
  printGrid(`${s.name}: transactions per agent step by statement (counted in the client while runs and their settling went on; a transaction is named by its first statement)`, ['statement', 'per agent step'], [
    ...shown.map(([label, n]) => [label, fmt(n / s.totalSteps, 2)]),
    ...(rest > 0 ? [[`(${rows.length - top} other statements)`, fmt(rest / s.totalSteps, 2)]] : []),
    ['total', fmt(total / s.totalSteps, 2)],
  ]);
}

export function printWorkflowReport(r: WorkflowBenchResult, run: { rounds: number; sequentialRuns: number; concurrentRuns: number; source: string }): void {
  const title = `workflow: 4 sequential agent steps per run, cadre vs LangGraph JS + PostgresSaver (${run.source}; ${run.rounds} rounds of ${run.sequentialRuns} runs one at a time and ${run.concurrentRuns} with ${r.concurrency} in flight)`;
  mainTable(r, title);
  const rates = (s: SideResult): string => `${s.name} runs/s per round, one at a time: ${s.sequential.map((p) => fmt(p.runsPerSec, 1)).join(', ')}; ${r.concurrency} in flight: ${s.concurrent.map((p) => fmt(p.runsPerSec, 1)).join(', ')}`;
  console.log(rates(r.cadre));
  console.log(rates(r.langGraph));
  // Rounds vary a lot on a shared 2-core machine, on both sides and together: a round's ratio
  // (the two sides ran back to back) says more than the ratio of two medians taken apart.
  const paired = (a: readonly Phase[], b: readonly Phase[]): string => a.map((p, i) => x(p.runsPerSec / b[i]!.runsPerSec)).join(', ');
  console.log(`cadre ÷ LangGraph per round, one at a time: ${paired(r.cadre.sequential, r.langGraph.sequential)}; ${r.concurrency} in flight: ${paired(r.cadre.concurrent, r.langGraph.concurrent)}`);
  limitTable(r);
  tableBreakdown(r.cadre);
  relationBreakdown(r.cadre);
  eventBreakdown(r.cadre);
  transactionBreakdown(r.cadre);
  tableBreakdown(r.langGraph);
  relationBreakdown(r.langGraph);
  transactionBreakdown(r.langGraph);
}
