/**
 * How long a person waits for `cadre`: the built CLI's start-up for --version, --help and read
 * commands on both stores, against a bare `node` start (the physical limit; for the embedded
 * store, PGlite opening its folder as read commands open it) and commander's own
 * --version (a peer: the argument parser cadre uses, with nothing of cadre behind it), measured
 * in the same run. `npm run bench -- cli`.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { benchDatabase, fmt, percentile, printTable, ratio, sortNumbers, type BenchRow } from './support.js';

const BIN = join(process.cwd(), 'bin', 'cadre.js');

/** Median and p90 wall time of `node args` over `runs` runs (one warm-up first). */
function startTimes(args: readonly string[], envOf: NodeJS.ProcessEnv | (() => NodeJS.ProcessEnv), runs: number): { p50: number; p90: number } {
  const samples: number[] = [];
  for (let i = 0; i <= runs; i++) {
    const env = typeof envOf === 'function' ? envOf() : envOf;
    const t = performance.now();
    const r = spawnSync('node', args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
    if (r.status !== 0) throw new Error(`node ${args.join(' ')} exited ${r.status}: ${String(r.stderr)}`);
    if (i > 0) samples.push(performance.now() - t);
  }
  sortNumbers(samples);
  return { p50: percentile(samples, 50), p90: percentile(samples, 90) };
}

export async function benchCliStartup(scale = 1): Promise<BenchRow[]> {
  // The bench measures the build, so it makes one (bin/cadre.js runs the source when it is stale).
  execFileSync('npm', ['run', '-s', 'build'], { stdio: 'inherit' });
  const runs = Math.max(5, Math.round(20 * scale));
  const base: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, NO_COLOR: '1' };
  const dataDir = mkdtempSync(join(tmpdir(), 'cadre-bench-cli-'));
  const newFolders = mkdtempSync(join(tmpdir(), 'cadre-bench-cli-new-'));
  const embedded = { ...base, CADRE_DATA_DIR: dataDir };
  const db = await benchDatabase();
  const postgres = { ...base, DATABASE_URL: db.url };
  try {
    // Something to read: the demo's run on each store.
    for (const env of [embedded, postgres]) execFileSync('node', [BIN, 'demo'], { env, stdio: 'ignore' });
    const root = (env: NodeJS.ProcessEnv): string => (JSON.parse(execFileSync('node', [BIN, 'tree', '--json'], { env }).toString()) as Array<{ id: string }>)[0]!.id;
    const rootPg = root(postgres);
    const rootEmbedded = root(embedded);

    const node = startTimes(['-e', '0'], base, runs);
    const commander = startTimes(['--input-type=module', '-e', `const { Command } = await import(${JSON.stringify(join(process.cwd(), 'node_modules/commander/esm.mjs'))}); new Command().version('1').exitOverride(() => {}).configureOutput({ writeOut: () => {} }).parse(['node', 'x', '--version']);`], base, runs);
    const openPglite = ['--input-type=module', '-e', `const { PGlite } = await import(${JSON.stringify(join(process.cwd(), 'node_modules/@electric-sql/pglite/dist/index.js'))}); const db = await PGlite.create(${JSON.stringify(dataDir)}); await db.query('select 1'); await db.close();`];
    const pglite = startTimes(openPglite, base, runs);
    // As cadre opens it (src/infra/sql/openPglite.ts: 16 MB of shared buffers), and as read
    // commands do (src/cli/context.ts: V8's baseline WebAssembly compiler only): the limit for reads.
    const openAsCadre = ['--input-type=module', '-e', `const { openPglite } = await import(${JSON.stringify(join(process.cwd(), 'dist/infra/sql/openPglite.js'))}); const db = await openPglite(${JSON.stringify(dataDir)}); await db.query('select 1'); await db.close();`];
    const pgliteAsCadre = startTimes(openAsCadre, base, runs);
    const pgliteLiftoff = startTimes(['--liftoff-only', ...openAsCadre], base, runs);
    // A new folder: initdb (PGlite alone) against cadre's first command, from the build's fresh store.
    const fresh = (): NodeJS.ProcessEnv => ({ ...base, CADRE_DATA_DIR: mkdtempSync(join(newFolders, 'store-')) });
    const initdbRuns = Math.max(3, Math.round(runs / 4));
    const initdb = startTimes(['--input-type=module', '-e', `const { PGlite } = await import(${JSON.stringify(join(process.cwd(), 'node_modules/@electric-sql/pglite/dist/index.js'))}); const { mkdtempSync } = await import('node:fs'); const db = await PGlite.create(mkdtempSync(${JSON.stringify(join(newFolders, 'initdb-'))})); await db.query('select 1'); await db.close();`], base, initdbRuns);
    const firstSpawn = startTimes([BIN, 'spawn', '--role', 'first', '--task', 'a first command', '--budget', '1000'], fresh, initdbRuns);

    const rows: BenchRow[] = [
      { name: 'node -e 0 (physical limit)', value: `${fmt(node.p50)} ms`, limit: `${fmt(node.p50)} ms` },
      { name: 'commander alone, --version (peer)', value: `${fmt(commander.p50)} ms`, limit: `${fmt(node.p50)} ms`, ratio: ratio(commander.p50, node.p50) },
    ];
    const measure = (name: string, args: string[], env: NodeJS.ProcessEnv, limit: number, limitName: string, goalMs: number): void => {
      const t = startTimes([BIN, ...args], env, runs);
      rows.push({ name: `${name} p50 (p90 ${fmt(t.p90)})`, value: `${fmt(t.p50)} ms`, limit: `${fmt(limit)} ms ${limitName}`, ratio: ratio(t.p50, limit), goal: `< ${fmt(goalMs)} ms ${t.p50 < goalMs ? 'met' : 'MISSED'}` });
    };
    measure('cadre --version', ['--version'], base, node.p50, 'node', 2 * node.p50);
    measure('cadre --help', ['--help'], base, node.p50, 'node', 2 * node.p50);
    measure('cadre tree, Postgres', ['tree'], postgres, node.p50, 'node', 300);
    measure('cadre status <root>, Postgres', ['status', rootPg], postgres, node.p50, 'node', 300);
    measure('cadre budget <root>, Postgres', ['budget', rootPg], postgres, node.p50, 'node', 300);
    measure('cadre history <root>, Postgres', ['history', rootPg], postgres, node.p50, 'node', 300);
    rows.push({ name: 'PGlite opens the folder, select 1 (its defaults)', value: `${fmt(pglite.p50)} ms`, limit: `${fmt(node.p50)} ms node`, ratio: ratio(pglite.p50, node.p50) });
    rows.push({ name: 'same, as cadre opens it (16 MB of buffers)', value: `${fmt(pgliteAsCadre.p50)} ms`, limit: `${fmt(node.p50)} ms node`, ratio: ratio(pgliteAsCadre.p50, node.p50) });
    rows.push({ name: 'same, --liftoff-only (as reads open it)', value: `${fmt(pgliteLiftoff.p50)} ms`, limit: `${fmt(node.p50)} ms node`, ratio: ratio(pgliteLiftoff.p50, node.p50) });
    measure('cadre tree, embedded', ['tree'], embedded, pgliteLiftoff.p50, 'PGlite open', 1200);
    measure('cadre status <root>, embedded', ['status', rootEmbedded], embedded, pgliteLiftoff.p50, 'PGlite open', 1200);
    measure('cadre history <root>, embedded', ['history', rootEmbedded], embedded, pgliteLiftoff.p50, 'PGlite open', 1200);
    rows.push({ name: `PGlite makes a new folder (initdb), select 1 (${initdbRuns} runs)`, value: `${fmt(initdb.p50)} ms`, limit: `${fmt(node.p50)} ms node`, ratio: ratio(initdb.p50, node.p50) });
    rows.push({ name: `cadre spawn on a new folder p50 (p90 ${fmt(firstSpawn.p90)})`, value: `${fmt(firstSpawn.p50)} ms`, limit: `${fmt(initdb.p50)} ms initdb`, ratio: ratio(firstSpawn.p50, initdb.p50), goal: `< initdb ${firstSpawn.p50 < initdb.p50 ? 'met' : 'MISSED'}` });
    printTable(`CLI start-up (built, ${runs} runs each; ${db.source})`, rows);
    return rows;
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(newFolders, { recursive: true, force: true });
    await db.cleanup();
  }
}
