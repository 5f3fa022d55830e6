/**
 * `npx tsx scripts/faults.ts --seeds N [--from S] [--no-git] [--span MS]`: the fault-injection
 * suite at any size (see tests/faults/faultRun.ts). Every seed runs a 50-node workflow under
 * SIGKILLs, connection kills, Postgres restarts, git outages (odd seeds... every seed unless
 * --no-git) and a failing, hanging model, then checks that nothing was lost or doubled.
 * Prints one row per seed and a summary; exits 1 if any seed's checks failed.
 */
import { startFaultSuite, type SeedReport } from '../tests/faults/faultRun.js';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  const v = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isInteger(v) || v < 0) {
    console.error(`${name} must be a non-negative integer`);
    process.exit(2);
  }
  return v;
}

const seeds = arg('--seeds', 10);
const from = arg('--from', 1);
const span = arg('--span', 4000);
const git = !process.argv.includes('--no-git');
const verbose = process.argv.includes('--verbose');

const suite = await startFaultSuite();
const reports: SeedReport[] = [];
const failures: string[] = [];
try {
  for (let seed = from; seed < from + seeds; seed++) {
    try {
      // Worktrees on every other seed: they are the slow part, and the other seeds show the store alone.
      const r = await suite.runSeed(seed, { git: git && seed % 2 === 0, spanMs: span, ...(verbose ? { log: (l: string) => console.log(l) } : {}) });
      reports.push(r);
      console.log(`seed ${seed}: ${r.status}, ${r.agents} agents, ${r.events} events, ${r.ms} ms — all checks passed`);
    } catch (err) {
      failures.push(`seed ${seed}: ${err instanceof Error ? err.message : String(err)}`);
      console.log(`seed ${seed}: FAILED ${err instanceof Error ? err.message : String(err)}`);
    }
  }
} finally {
  await suite.close();
}
printFaultTable(reports);
if (failures.length > 0) {
  console.log(`\n${failures.length} seed(s) failed:\n${failures.join('\n')}`);
  process.exitCode = 1;
}

export function printFaultTable(rows: readonly SeedReport[]): void {
  const cols: [string, (r: SeedReport) => string | number][] = [
    ['seed', (r) => r.seed], ['git', (r) => (r.git ? 'yes' : 'no')], ['status', (r) => r.status], ['agents', (r) => r.agents], ['events', (r) => r.events],
    ['sigkill', (r) => r.sigkills], ['conns killed', (r) => r.connectionsKilled], ['pg restart', (r) => r.pgRestarts], ['git down', (r) => r.gitOutages], ['git failed', (r) => r.gitFailures],
    ['model err', (r) => r.modelErrors], ['model hangs', (r) => r.modelHangs], ['missed', (r) => r.missed], ['died', (r) => r.unexpectedExits],
    ['msgs sent', (r) => r.messagesSent], ['acked', (r) => r.messagesAcked], ['dead', (r) => r.messagesDead], ['ms', (r) => r.ms],
  ];
  const table = [cols.map(([h]) => h), ...rows.map((r) => cols.map(([, f]) => String(f(r))))];
  const widths = cols.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
  console.log('');
  for (const [i, row] of table.entries()) {
    console.log('| ' + row.map((c, j) => c.padEnd(widths[j]!)).join(' | ') + ' |');
    if (i === 0) console.log('|' + widths.map((w) => '-'.repeat(w + 2)).join('|') + '|');
  }
  const sum = (f: (r: SeedReport) => number): number => rows.reduce((s, r) => s + f(r), 0);
  // Only faults that happened: kills that killed, connections really terminated, outages some git
  // command ran into (the table's "missed" column holds the scheduled ones that did not).
  const injected = sum((r) => r.sigkills + r.pgRestarts + r.gitOutages + r.connectionsKilled);
  console.log(`\n${rows.length} seeds passed; faults survived: ${sum((r) => r.sigkills)} SIGKILLs, ${sum((r) => r.connectionsKilled)} connections terminated, ` +
    `${sum((r) => r.pgRestarts)} Postgres restarts, ${sum((r) => r.gitOutages)} git outages (${sum((r) => r.gitFailures)} git commands failed), ${sum((r) => r.modelErrors)} model errors, ${sum((r) => r.modelHangs)} model hangs; ` +
    `${sum((r) => r.unexpectedExits)} worker deaths; ${injected} process-level faults in all, ${sum((r) => r.missed)} scheduled faults missed.`);
}
