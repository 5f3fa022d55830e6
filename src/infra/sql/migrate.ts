import type { SqlClient } from './sqlClient.js';
import { assertIdentifier } from './sqlClient.js';

/**
 * Applies an ordered list of migrations for one component (the event store, the projections,
 * ...) inside `schema`. The position in the list is the version: append new steps, never edit
 * or reorder old ones. Concurrent starters are serialised by an advisory lock.
 *
 * `onlyIfBehind` (for readers) first asks for the applied version in one query and stops there
 * when it is current: no DDL, no transaction, no lock. A version is recorded in the transaction
 * that applies its step, so "current" cannot be seen before the step is. A missing or older
 * schema falls through to migrating as writers do.
 */
export async function migrate(sql: SqlClient, schema: string, component: string, steps: readonly string[], options: { readonly onlyIfBehind?: boolean } = {}): Promise<number> {
  assertIdentifier(schema);
  if (options.onlyIfBehind && (await appliedVersion(sql, schema, component)) === steps.length) return steps.length;
  await sql.exec(`CREATE SCHEMA IF NOT EXISTS ${schema};
    CREATE TABLE IF NOT EXISTS ${schema}.migrations (
      component text NOT NULL, version int NOT NULL, applied_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (component, version))`).catch(async (err: unknown) => {
    // Two processes racing CREATE SCHEMA/TABLE IF NOT EXISTS can collide on the catalog;
    // the loser simply finds it there on a second look.
    const exists = await sql.query(`SELECT to_regclass($1) AS t`, [`${schema}.migrations`]);
    if (!exists.rows[0]?.t) throw err;
  });
  return sql.transaction(async (tx) => {
    await tx.query(`SELECT pg_advisory_xact_lock(hashtext($1))`, [`cadre.migrate.${schema}.${component}`]);
    const done = await tx.query<{ v: number | null }>(`SELECT max(version) AS v FROM ${schema}.migrations WHERE component = $1`, [component]);
    const current = Number(done.rows[0]?.v ?? 0);
    for (let i = current; i < steps.length; i++) {
      for (const statement of splitStatements(steps[i]!)) await tx.query(statement);
      await tx.query(`INSERT INTO ${schema}.migrations (component, version) VALUES ($1, $2)`, [component, i + 1]);
    }
    return steps.length;
  });
}

/**
 * Waits until each component has at least its steps applied: a reader whose queries go through
 * the process holding an embedded store (embeddedReader.ts) reads what that process is still
 * creating. `cadre tree` started 0.3 s after the first `cadre spawn` on a new folder failed with
 * `relation "cadre.actor_index" does not exist` (a new-user try, 3 times of 4). Resolves false
 * at `timeoutMs` (a holder of an older cadre has fewer steps, and is read as it is).
 *
 * @example
 * await untilMigrated(sql, 'cadre', [{ component: 'runtime', steps: runtimeMigrations('cadre').length }], 15_000);
 */
export async function untilMigrated(sql: SqlClient, schema: string, components: readonly { readonly component: string; readonly steps: number }[], timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const behind = [];
    for (const c of components) if (((await appliedVersion(sql, schema, c.component)) ?? 0) < c.steps) behind.push(c);
    if (behind.length === 0) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The component's applied version, or null when the schema or its migrations table does not exist yet. */
async function appliedVersion(sql: SqlClient, schema: string, component: string): Promise<number | null> {
  try {
    const done = await sql.query<{ v: number | null }>(`SELECT max(version) AS v FROM ${schema}.migrations WHERE component = $1`, [component]);
    return Number(done.rows[0]?.v ?? 0);
  } catch (err) {
    // 42P01: no such table (a fresh database); anything else is a real failure.
    if (typeof err === 'object' && err !== null && (err as { code?: unknown }).code === '42P01') return null;
    throw err;
  }
}

/** Splits on `;` at the end of a line, keeping `$$ ... $$` function bodies whole. */
export function splitStatements(script: string): string[] {
  const out: string[] = [];
  let current = '';
  let inDollar = false;
  for (const line of script.split('\n')) {
    const dollars = line.split('$$').length - 1;
    if (dollars % 2 === 1) inDollar = !inDollar;
    current += line + '\n';
    if (!inDollar && /;\s*$/.test(line)) {
      if (current.trim() !== ';') out.push(current.trim().replace(/;$/, ''));
      current = '';
    }
  }
  if (current.trim()) out.push(current.trim());
  return out.filter((s) => s.length > 0);
}
