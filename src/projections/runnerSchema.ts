import { assertIdentifier } from '../infra/sql/sqlClient.js';

/**
 * The runner's own tables, in the projections' schema (ordered migrations; append only).
 *
 * - `projection_checkpoints`: one row per projection: the global position applied so far, the
 *   projection version and the suffix of the table generation readers see, and the suffix of a
 *   rebuild in progress, its runner and when that runner last said it was still building (its
 *   tables are dropped once it has been silent for a while: it died mid-rebuild).
 * - `projection_apply(batch jsonb)`: runs a batch of statements in one round trip; statements
 *   are shared texts with text parameters, each cast explicitly in the statement.
 * - `projection_advance(...)`: moves a checkpoint, or raises CD101 if another runner moved it.
 * - then: the retired activity read model's leftovers are dropped.
 * - then: `projection_apply` prepares each statement text once per session and runs it with a
 *   generic plan. EXECUTE of a text plans it again every time, and planning was about half of a
 *   batch's server time (EXPLAIN ANALYZE over real batches of the workflow benchmark: 4.0 ms
 *   of 8.7 ms; the budget ledger's one INSERT alone plans in ~2 ms). Sequential scans are off
 *   inside it: a batch's statements address rows by key, but a set of keys from jsonb reads as
 *   100 rows to the planner, which then scanned a 450-row agents table whole (0.3 ms) rather
 *   than look up the 4 rows.
 * - then: the retired budget ledger read model's leftovers are dropped.
 * - then: joins inside `projection_apply` are nested loops only, so every statement reads its
 *   rows by key whatever the tables' size and statistics (tests/int/projectionPlans).
 * - then: a rebuild's claim (`building_owner`, `building_seen_at`; rebuildClaim.ts).
 * - then: `projection_apply` prepares each statement just before it first runs (the appliers'
 *   lock, the batch's first, is taken before any table's).
 */
export function runnerMigrations(schema: string): string[] {
  const s = assertIdentifier(schema);
  return [
    `
CREATE TABLE ${s}.projection_checkpoints (
  name text PRIMARY KEY,
  version int NOT NULL,
  position bigint NOT NULL,
  active_suffix text NOT NULL,
  building_suffix text,
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE FUNCTION ${s}.projection_apply(p_batch jsonb) RETURNS int LANGUAGE plpgsql AS $$
DECLARE
  v_texts text[] := ARRAY(SELECT x FROM jsonb_array_elements_text(p_batch->'t') WITH ORDINALITY AS a(x, n) ORDER BY n);
  v_stmt jsonb;
  v_count int := 0;
BEGIN
  FOR v_stmt IN SELECT value FROM jsonb_array_elements(p_batch->'s') WITH ORDINALITY AS b(value, n) ORDER BY n LOOP
    EXECUTE v_texts[(v_stmt->>0)::int + 1]
      USING ARRAY(SELECT x FROM jsonb_array_elements_text(v_stmt->1) WITH ORDINALITY AS c(x, n) ORDER BY n);
    v_count := v_count + 1;
  END LOOP;
  RETURN v_count;
END
$$;
CREATE FUNCTION ${s}.projection_advance(p_name text, p_expected bigint, p_position bigint, p_suffix text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  UPDATE ${s}.projection_checkpoints SET position = p_position, updated_at = now()
    WHERE name = p_name AND position = p_expected AND active_suffix = p_suffix;
  IF NOT FOUND THEN
    RAISE EXCEPTION USING ERRCODE = 'CD101', MESSAGE = 'projection checkpoint moved by another runner', DETAIL = p_name;
  END IF;
END
$$;
`,
    // The activity read model is gone (the feed reads the event log, activityFeed.ts): a store an
    // older cadre set up keeps its view, tables and checkpoint, which would hold waitFor's
    // min(position) back forever. Every generation of its tables is dropped.
    retiredReadModel(s, 'activity', ['activity']),
    // Prepared statements belong to the session, so the catalogue is asked in the same call that
    // runs them (a pooler handing out server connections per transaction still works), once per
    // call: pg_prepared_statements lists every statement of the session each time it is read. A
    // name is the text's digest; a text names its tables' generation, so a rebuild's get their own.
    `
CREATE OR REPLACE FUNCTION ${s}.projection_apply(p_batch jsonb) RETURNS int LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan SET enable_seqscan = off AS $$
DECLARE
  v_texts text[] := ARRAY(SELECT x FROM jsonb_array_elements_text(p_batch->'t') WITH ORDINALITY AS a(x, n) ORDER BY n);
  v_names text[] := ARRAY(SELECT 'cadre_apply_' || md5(x) FROM unnest(v_texts) WITH ORDINALITY AS a(x, n) ORDER BY n);
  v_prepared text[] := ARRAY(SELECT name FROM pg_prepared_statements WHERE name = ANY(v_names));
  v_stmt jsonb;
  v_count int := 0;
BEGIN
  FOR i IN 1 .. coalesce(array_length(v_texts, 1), 0) LOOP
    IF NOT v_names[i] = ANY(v_prepared) THEN
      EXECUTE format('PREPARE %I(text[]) AS %s', v_names[i], v_texts[i]);
    END IF;
  END LOOP;
  FOR v_stmt IN SELECT value FROM jsonb_array_elements(p_batch->'s') WITH ORDINALITY AS b(value, n) ORDER BY n LOOP
    EXECUTE format('EXECUTE %I(%L)', v_names[(v_stmt->>0)::int + 1],
      ARRAY(SELECT x FROM jsonb_array_elements_text(v_stmt->1) WITH ORDINALITY AS c(x, n) ORDER BY n));
    v_count := v_count + 1;
  END LOOP;
  RETURN v_count;
END
$$;
`,
    // The budget ledger read model is gone too: a ledger is derived on read from the agent's
    // stream (ledgerOf.ts) and the balances are the agents read model's columns.
    retiredReadModel(s, 'budget_ledger', ['budget_balances', 'budget_ledger']),
    // Nested loops only: a batch joins a few keys from jsonb with its tables, but the generic plan
    // reads any jsonb set as 100 rows, and on tables of a few hundred to a few thousand rows it
    // hashed or merged them with a whole index instead (EXPLAIN ANALYZE over the workflow
    // benchmark's batches: 1,700 agents rows read to total one tree's 5, 1,280 nodes rows to
    // update 4). Which plan won moved with the tables' statistics; keyed lookups do not.
    `ALTER FUNCTION ${s}.projection_apply(jsonb) SET enable_hashjoin = off;
ALTER FUNCTION ${s}.projection_apply(jsonb) SET enable_mergejoin = off;`,
    // Who is building a rebuild's tables, and when it last said so (rebuildClaim.ts): a runner
    // starting beside a rebuild dropped its tables, and runners started together on a projection
    // whose version changed each rebuilt into the same tables.
    `ALTER TABLE ${s}.projection_checkpoints ADD COLUMN building_owner text, ADD COLUMN building_seen_at timestamptz;`,
    // Each statement is prepared just before it first runs, not all before the first runs: a
    // batch's first statement takes the appliers' lock, and preparing the others first took their
    // tables' locks ahead of it, the reverse of a rebuild's swap (that lock, then the views):
    // processes applying live deadlocked with another's swap (a trial's rebuilds beside `cadre
    // worker`). And a batch naming tables another runner's swap dropped now fails at its
    // checkpoint's compare-and-set (CD101), before a statement naming them is prepared.
    `
CREATE OR REPLACE FUNCTION ${s}.projection_apply(p_batch jsonb) RETURNS int LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan SET enable_seqscan = off SET enable_hashjoin = off SET enable_mergejoin = off AS $$
DECLARE
  v_texts text[] := ARRAY(SELECT x FROM jsonb_array_elements_text(p_batch->'t') WITH ORDINALITY AS a(x, n) ORDER BY n);
  v_names text[] := ARRAY(SELECT 'cadre_apply_' || md5(x) FROM unnest(v_texts) WITH ORDINALITY AS a(x, n) ORDER BY n);
  v_prepared text[] := ARRAY(SELECT name FROM pg_prepared_statements WHERE name = ANY(v_names));
  v_stmt jsonb;
  v_i int;
  v_count int := 0;
BEGIN
  FOR v_stmt IN SELECT value FROM jsonb_array_elements(p_batch->'s') WITH ORDINALITY AS b(value, n) ORDER BY n LOOP
    v_i := (v_stmt->>0)::int + 1;
    IF NOT v_names[v_i] = ANY(v_prepared) THEN
      EXECUTE format('PREPARE %I(text[]) AS %s', v_names[v_i], v_texts[v_i]);
      v_prepared := v_prepared || v_names[v_i];
    END IF;
    EXECUTE format('EXECUTE %I(%L)', v_names[v_i],
      ARRAY(SELECT x FROM jsonb_array_elements_text(v_stmt->1) WITH ORDINALITY AS c(x, n) ORDER BY n));
    v_count := v_count + 1;
  END LOOP;
  RETURN v_count;
END
$$;
`,
  ];
}

/** Drops what a read model no longer built left in a store: its views, every generation of its tables, its checkpoint. */
function retiredReadModel(s: string, name: string, views: readonly string[]): string {
  return `
${views.map((v) => `DROP VIEW IF EXISTS ${s}.${v} CASCADE;`).join('\n')}
DO $$
DECLARE t text;
BEGIN
  FOR t IN SELECT tablename FROM pg_tables WHERE schemaname = '${s}' AND tablename ~ '^${name}_v[0-9]+_r[0-9]+$' LOOP
    EXECUTE format('DROP TABLE %I.%I', '${s}', t);
  END LOOP;
END
$$;
DELETE FROM ${s}.projection_checkpoints WHERE name = '${name}';
`;
}
