import pg from 'pg';
import { startEmbeddedPostgres } from '../tests/support/embeddedPostgres.js';

export interface BenchRow {
  readonly name: string;
  readonly value: string;
  readonly limit?: string;
  readonly ratio?: string;
  readonly goal?: string;
}

export const percentile = (sorted: readonly number[], p: number): number =>
  sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;

export const sortNumbers = (xs: number[]): number[] => xs.sort((a, b) => a - b);

export const fmt = (n: number, digits = 0): string =>
  Number.isFinite(n) ? n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }) : 'n/a';

export const ratio = (value: number, limit: number): string => `${fmt((value / limit) * 100, 0)}%`;

/** Runs `fn` `count` times across `concurrency` workers and returns operations per second. */
export async function rate(count: number, concurrency: number, fn: (i: number, worker: number) => Promise<unknown>): Promise<number> {
  let next = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async (_, w) => {
      for (let i = next++; i < count; i = next++) await fn(i, w);
    }),
  );
  return count / ((performance.now() - start) / 1000);
}

/** A database of the benchmark's own on DATABASE_URL's server, or on an embedded Postgres. */
export async function benchDatabase(): Promise<{ url: string; source: string; cleanup(): Promise<void> }> {
  let admin = process.env.DATABASE_URL;
  let source = 'DATABASE_URL';
  let stop: (() => Promise<void>) | undefined;
  if (!admin) {
    const pgServer = await startEmbeddedPostgres();
    admin = pgServer.url;
    source = `embedded Postgres :${pgServer.port}`;
    stop = () => pgServer.stop();
  }
  const name = `cadre_bench_${process.pid}_${Date.now().toString(36)}`;
  const c = new pg.Client({ connectionString: admin });
  await c.connect();
  await c.query(`CREATE DATABASE ${name}`);
  await c.end();
  const url = new URL(admin);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    source,
    async cleanup() {
      const d = new pg.Client({ connectionString: admin });
      await d.connect();
      await d.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await d.end();
      await stop?.();
    },
  };
}

export function printTable(title: string, rows: readonly BenchRow[]): void {
  console.log(`\n${title}`);
  const cols = ['name', 'value', 'limit', 'ratio', 'goal'] as const;
  const widths = cols.map((c) => Math.max(c.length, ...rows.map((r) => (r[c] ?? '').length)));
  const line = (cells: string[]): string => '| ' + cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ') + ' |';
  console.log(line([...cols]));
  console.log('|' + widths.map((w) => '-'.repeat(w + 2)).join('|') + '|');
  for (const r of rows) console.log(line(cols.map((c) => r[c] ?? '')));
}

/** A table with the caller's own columns, the first left-aligned and the others right-aligned. */
export function printGrid(title: string, header: readonly string[], rows: readonly (readonly string[])[]): void {
  console.log(`\n${title}`);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const cell = (c: string, i: number): string => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!));
  const line = (cells: readonly string[]): string => '| ' + header.map((_, i) => cell(cells[i] ?? '', i)).join(' | ') + ' |';
  console.log(line(header));
  console.log('|' + widths.map((w) => '-'.repeat(w + 2)).join('|') + '|');
  for (const r of rows) console.log(line(r));
}
