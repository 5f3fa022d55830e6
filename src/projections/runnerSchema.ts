import { assertIdentifier } from '../infra/sql/sqlClient.js';

/**
 * The runner's own tables, in the projections' schema (ordered migrations; append only).
 *
 * - `projection_checkpoints`: one row per projection: the global position applied so far, the
 *   projection version and the suffix of the table generation readers see, and the suffix of a
 *   rebuild in progress (dropped if the runner died mid-rebuild).
 * - `projection_apply(batch jsonb)`: runs a batch of statements in one round trip; statements
 *   are shared texts with text parameters, each cast explicitly in the statement.
 * - `projection_advance(...)`: moves a checkpoint, or raises CD101 if another runner moved it.
 * - then: the retired activity read model's leftovers are dropped.
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
    `
DROP VIEW IF EXISTS ${s}.activity CASCADE;
DO $$
DECLARE t text;
BEGIN
  FOR t IN SELECT tablename FROM pg_tables WHERE schemaname = '${s}' AND tablename ~ '^activity_v[0-9]+_r[0-9]+$' LOOP
    EXECUTE format('DROP TABLE %I.%I', '${s}', t);
  END LOOP;
END
$$;
DELETE FROM ${s}.projection_checkpoints WHERE name = 'activity';
`,
  ];
}
