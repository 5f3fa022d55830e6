import type { SqlQueryable } from '../infra/sql/sqlClient.js';
import type { SqlStatement } from './projection.js';

/** Every `$n` followed by an explicit cast: the statement can run inside `projection_apply`. */
export const castsEveryParam = (text: string): boolean => batchText(text).castsEvery;

/**
 * A statement text as `projection_apply` runs it (`$n::` → `($1[n])::`), and whether every `$n`
 * has its cast. Read models build their statements from a few fixed texts (one per table
 * generation), so each text is checked and rewritten once per process, not by two regular
 * expressions per statement per batch: those cost ~0.3 ms of a 4-node workflow run's ~17 ms CPU
 * (.prof/wfd.mjs, --cpu-prof). A pure function of the text: nothing to go stale. Bounded in case
 * a projection builds texts from its data.
 */
function batchText(text: string): { readonly rewritten: string; readonly castsEvery: boolean } {
  let entry = batchTexts.get(text);
  if (!entry) {
    entry = { rewritten: text.replace(/\$(\d+)::/g, (_m, n: string) => `($1[${n}])::`), castsEvery: !/\$\d+(?!\d|::)/.test(text) };
    if (batchTexts.size >= MAX_BATCH_TEXTS) batchTexts.clear();
    batchTexts.set(text, entry);
  }
  return entry;
}
const batchTexts = new Map<string, { readonly rewritten: string; readonly castsEvery: boolean }>();
const MAX_BATCH_TEXTS = 2_000;

/** A parameter as text (Postgres casts it back with the statement's explicit cast). */
export function paramText(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') return String(value);
  if (value instanceof Date) return value.toISOString();
  return JSON.stringify(value);
}

/**
 * Encodes statements for `projection_apply`: shared texts once, then `[textIndex, params]`
 * pairs; `$n::type` becomes `($1[n])::type` over the one text[] argument.
 */
export function encodeBatch(statements: readonly SqlStatement[]): string {
  const texts: string[] = [];
  const index = new Map<string, number>();
  const rows: [number, (string | null)[]][] = [];
  for (const s of statements) {
    let i = index.get(s.text);
    if (i === undefined) {
      i = texts.length;
      index.set(s.text, i);
      texts.push(batchText(s.text).rewritten);
    }
    rows.push([i, s.params.map(paramText)]);
  }
  return JSON.stringify({ t: texts, s: rows });
}

/** True when `projection_apply` can run all of them (one statement, hence atomic on its own). */
export const canBatch = (statements: readonly SqlStatement[]): boolean => statements.every((s) => castsEveryParam(s.text));

/**
 * Applies statements in order on `q` (inside the caller's transaction): in one round trip when
 * every statement follows the explicit-cast convention, else one query per statement.
 */
export async function applyStatements(q: SqlQueryable, schema: string, statements: readonly SqlStatement[]): Promise<void> {
  if (statements.length === 0) return;
  if (canBatch(statements)) {
    await q.query(`SELECT ${schema}.projection_apply($1::jsonb)`, [encodeBatch(statements)], { prepareAs: `cadre_projection_apply_${schema}` });
    return;
  }
  for (const s of statements) await q.query(s.text, s.params.map(paramText));
}
