import { assertIdentifier } from '../../../infra/sql/sqlClient.js';

/** Bits of a position below the transaction id: at most 2^20 - 1 events per transaction. */
export const POSITION_SEQ_BITS = 20;

export const notifyChannel = (schema: string): string => `${assertIdentifier(schema)}_events`;

/**
 * The event store's migrations. The global position is `offset + (xid << 20) + n`: the
 * appending transaction's id in the high bits and the event's order inside the transaction in
 * the low bits. Readers only see transactions older than the oldest one still running
 * (`pg_snapshot_xmin`), so no event can ever become visible behind one already delivered, and
 * position order is delivery order. The offset exists so the contract suite can prove that
 * positions past 2^53 survive the round trip.
 *
 * The function does not NOTIFY: a transaction that notifies takes a database-wide lock at
 * commit, which serialises every appender and defeats group commit. Writers notify after
 * commit instead, coalesced (see src/infra/sql/coalescingNotifier.ts).
 */
export function eventStoreMigrations(schema: string): string[] {
  const s = assertIdentifier(schema);
  return [
    `
CREATE TABLE ${s}.events (
  position bigint PRIMARY KEY,
  transaction_id xid8 NOT NULL,
  stream_id text NOT NULL,
  revision bigint NOT NULL,
  event_id uuid NOT NULL,
  type text NOT NULL,
  data jsonb NOT NULL,
  metadata jsonb NOT NULL,
  recorded_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT events_stream_revision UNIQUE (stream_id, revision)
);
CREATE UNIQUE INDEX events_event_id ON ${s}.events (event_id);
CREATE TABLE ${s}.store_settings (
  id boolean PRIMARY KEY DEFAULT true CHECK (id),
  position_offset bigint NOT NULL DEFAULT 0
);
INSERT INTO ${s}.store_settings (id) VALUES (true);
CREATE FUNCTION ${s}.append_events(p_stream text, p_expected_kind text, p_expected bigint, p_events jsonb)
RETURNS TABLE (last_revision bigint, last_position bigint, was_idempotent boolean)
LANGUAGE plpgsql AS $$
DECLARE
  v_count int := jsonb_array_length(p_events);
  v_first_id uuid := (p_events->0->>'id')::uuid;
  v_first_stream text;
  v_first_revision bigint;
  v_matched int;
  v_current bigint;
  v_seq int;
  v_base bigint;
BEGIN
  -- An append whose first event id is already stored is a retry: succeed without writing,
  -- provided it is the same batch at the same place.
  SELECT e.stream_id, e.revision INTO v_first_stream, v_first_revision FROM ${s}.events e WHERE e.event_id = v_first_id;
  IF FOUND THEN
    SELECT count(*)::int, max(e.revision), max(e.position) INTO v_matched, last_revision, last_position
      FROM jsonb_array_elements(p_events) WITH ORDINALITY AS x(ev, n)
      JOIN ${s}.events e ON e.event_id = (x.ev->>'id')::uuid AND e.stream_id = p_stream AND e.revision = v_first_revision + x.n - 1;
    IF v_first_stream = p_stream AND v_matched = v_count AND (
         p_expected_kind IN ('any', 'stream_exists')
      OR (p_expected_kind = 'no_stream' AND v_first_revision = 0)
      OR (p_expected_kind = 'exact' AND v_first_revision = p_expected + 1)) THEN
      was_idempotent := true;
      RETURN NEXT;
      RETURN;
    END IF;
    RAISE EXCEPTION USING ERRCODE = 'CD002', MESSAGE = 'idempotency conflict', DETAIL = v_first_id::text;
  END IF;

  SELECT e.revision INTO v_current FROM ${s}.events e WHERE e.stream_id = p_stream ORDER BY e.revision DESC LIMIT 1;
  IF (p_expected_kind = 'no_stream' AND v_current IS NOT NULL)
     OR (p_expected_kind = 'stream_exists' AND v_current IS NULL)
     OR (p_expected_kind = 'exact' AND v_current IS DISTINCT FROM p_expected) THEN
    RAISE EXCEPTION USING ERRCODE = 'CD001', MESSAGE = 'wrong expected revision',
      DETAIL = coalesce(v_current::text, 'no_stream');
  END IF;

  v_seq := coalesce(nullif(current_setting('cadre.append_seq', true), '')::int, 0);
  IF v_seq + v_count >= 1048576 THEN
    RAISE EXCEPTION USING ERRCODE = 'CD003', MESSAGE = 'more than 1048575 events in one transaction';
  END IF;
  PERFORM set_config('cadre.append_seq', (v_seq + v_count)::text, true);
  v_base := (SELECT position_offset FROM ${s}.store_settings) + ((pg_current_xact_id()::text::bigint) << 20) + v_seq;

  WITH ins AS (
    INSERT INTO ${s}.events (position, transaction_id, stream_id, revision, event_id, type, data, metadata)
    SELECT v_base + x.n, pg_current_xact_id(), p_stream, coalesce(v_current, -1) + x.n,
           (x.ev->>'id')::uuid, x.ev->>'type', x.ev->'data', x.ev->'metadata'
      FROM jsonb_array_elements(p_events) WITH ORDINALITY AS x(ev, n)
    RETURNING revision, position)
  SELECT max(ins.revision), max(ins.position) INTO last_revision, last_position FROM ins;
  was_idempotent := false;
  RETURN NEXT;
END
$$;
`,
    // Group commit. `append_one` is the append without the raising: it returns what happened,
    // so `append_batch` can run many appends (to any streams) in one round trip and one commit
    // and report each one's outcome; `append_events` keeps its contract on top of it.
    `
${appendOneFunction(s, { atInColumn: false })}CREATE OR REPLACE FUNCTION ${s}.append_events(p_stream text, p_expected_kind text, p_expected bigint, p_events jsonb)
RETURNS TABLE (last_revision bigint, last_position bigint, was_idempotent boolean)
LANGUAGE plpgsql AS $$
DECLARE
  r record;
BEGIN
  SELECT * INTO r FROM ${s}.append_one(p_stream, p_expected_kind, p_expected, p_events);
  IF r.status = 'wrong_revision' THEN
    RAISE EXCEPTION USING ERRCODE = 'CD001', MESSAGE = 'wrong expected revision', DETAIL = r.detail;
  ELSIF r.status = 'idempotency_conflict' THEN
    RAISE EXCEPTION USING ERRCODE = 'CD002', MESSAGE = 'idempotency conflict', DETAIL = r.detail;
  ELSIF r.status = 'too_many' THEN
    RAISE EXCEPTION USING ERRCODE = 'CD003', MESSAGE = 'more than 1048575 events in one transaction';
  END IF;
  last_revision := r.last_revision;
  last_position := r.last_position;
  was_idempotent := r.status = 'idempotent';
  RETURN NEXT;
END
$$;
-- p_batch: [{ s: stream, k: expected kind, e: expected revision or null, v: events }, ...].
-- Appends run in order, so two to one stream in a batch see each other. One result row per
-- append, by its 1-based index. A refused append (wrong revision, ...) writes nothing and does
-- not stop the others; an error (a unique violation from a writer elsewhere) rolls back the
-- whole batch, and the caller then appends one by one.
CREATE FUNCTION ${s}.append_batch(p_batch jsonb)
RETURNS TABLE (idx int, status text, last_revision bigint, last_position bigint, detail text)
LANGUAGE plpgsql AS $$
DECLARE
  a record;
  r record;
BEGIN
  FOR a IN SELECT x.item, x.n FROM jsonb_array_elements(p_batch) WITH ORDINALITY AS x(item, n) LOOP
    SELECT * INTO r FROM ${s}.append_one(a.item->>'s', a.item->>'k', (a.item->>'e')::bigint, a.item->'v');
    idx := a.n; status := r.status; last_revision := r.last_revision; last_position := r.last_position; detail := r.detail;
    RETURN NEXT;
  END LOOP;
END
$$;
`,
    // Chained appends: an item with "c": true runs only if the one before it was stored (or was
    // already): a parent's decision and the child stream it opens share one round trip and one
    // commit, and a child is never opened by a decision that was refused (appendChain).
    appendBatchFunction(s, { attachments: false }),
    // Attachments: an item's "b" holds content-addressed payloads its events name by ref (a model
    // request), written to the runtime's blobs table in the same commit, only if the append was
    // stored: the request and the event naming it are durable together, in one commit, not two.
    appendBatchFunction(s, { attachments: true }),
    // `at` in the column (issue 19): an event's time is stored once, in `recorded_at`, instead of
    // in its metadata JSON as well (~35 bytes of every row). The writer sends it as the event's
    // "t" when it reads back exactly (pendingAppend.ts); readers put it back (`metadataSql`).
    // Without "t" (an older writer) the metadata keeps its `at` and the column the server's time.
    appendOneFunction(s, { atInColumn: true }),
  ];
}

/**
 * `append_one`: as created with group commit, and since `at` in the column, taking the event's
 * time from its "t" into `recorded_at`.
 */
function appendOneFunction(s: string, options: { atInColumn: boolean }): string {
  const create = options.atInColumn ? 'CREATE OR REPLACE FUNCTION' : 'CREATE FUNCTION';
  const insert = options.atInColumn
    ? `    INSERT INTO ${s}.events (position, transaction_id, stream_id, revision, event_id, type, data, metadata, recorded_at)
    SELECT st.position_offset + ((pg_current_xact_id()::text::bigint) << 20) + v_seq + x.n, pg_current_xact_id(), p_stream,
           coalesce(v_current, -1) + x.n, (x.ev->>'id')::uuid, x.ev->>'type', x.ev->'data', x.ev->'metadata',
           coalesce((x.ev->>'t')::timestamptz, now())
`
    : `    INSERT INTO ${s}.events (position, transaction_id, stream_id, revision, event_id, type, data, metadata)
    SELECT st.position_offset + ((pg_current_xact_id()::text::bigint) << 20) + v_seq + x.n, pg_current_xact_id(), p_stream,
           coalesce(v_current, -1) + x.n, (x.ev->>'id')::uuid, x.ev->>'type', x.ev->'data', x.ev->'metadata'
`;
  return `${create} ${s}.append_one(p_stream text, p_expected_kind text, p_expected bigint, p_events jsonb)
RETURNS TABLE (status text, last_revision bigint, last_position bigint, detail text)
LANGUAGE plpgsql AS $$
DECLARE
  v_count int := jsonb_array_length(p_events);
  v_first_id uuid := (p_events->0->>'id')::uuid;
  v_first_stream text;
  v_first_revision bigint;
  v_matched int;
  v_current bigint;
  v_seq int;
BEGIN
  -- An append whose first event id is already stored is a retry: it succeeds without writing,
  -- provided it is the same batch at the same place.
  SELECT e.stream_id, e.revision INTO v_first_stream, v_first_revision FROM ${s}.events e WHERE e.event_id = v_first_id;
  IF FOUND THEN
    SELECT count(*)::int, max(e.revision), max(e.position) INTO v_matched, last_revision, last_position
      FROM jsonb_array_elements(p_events) WITH ORDINALITY AS x(ev, n)
      JOIN ${s}.events e ON e.event_id = (x.ev->>'id')::uuid AND e.stream_id = p_stream AND e.revision = v_first_revision + x.n - 1;
    IF v_first_stream = p_stream AND v_matched = v_count AND (
         p_expected_kind IN ('any', 'stream_exists')
      OR (p_expected_kind = 'no_stream' AND v_first_revision = 0)
      OR (p_expected_kind = 'exact' AND v_first_revision = p_expected + 1)) THEN
      status := 'idempotent';
    ELSE
      status := 'idempotency_conflict'; detail := v_first_id::text; last_revision := NULL; last_position := NULL;
    END IF;
    RETURN NEXT;
    RETURN;
  END IF;

  SELECT e.revision INTO v_current FROM ${s}.events e WHERE e.stream_id = p_stream ORDER BY e.revision DESC LIMIT 1;
  IF (p_expected_kind = 'no_stream' AND v_current IS NOT NULL)
     OR (p_expected_kind = 'stream_exists' AND v_current IS NULL)
     OR (p_expected_kind = 'exact' AND v_current IS DISTINCT FROM p_expected) THEN
    status := 'wrong_revision'; detail := coalesce(v_current::text, 'no_stream');
    RETURN NEXT;
    RETURN;
  END IF;

  v_seq := coalesce(nullif(current_setting('cadre.append_seq', true), '')::int, 0);
  IF v_seq + v_count >= 1048576 THEN
    status := 'too_many';
    RETURN NEXT;
    RETURN;
  END IF;
  PERFORM set_config('cadre.append_seq', (v_seq + v_count)::text, true);
  WITH ins AS (
${insert}      FROM ${s}.store_settings st, jsonb_array_elements(p_events) WITH ORDINALITY AS x(ev, n)
    RETURNING revision, position)
  SELECT max(ins.revision), max(ins.position) INTO last_revision, last_position FROM ins;
  status := 'ok';
  RETURN NEXT;
END
$$;
`;
}

/**
 * An events row's metadata as it was appended: with its `at`, read back from `recorded_at` where
 * the writer stored it there (see the `at in the column` step). `alias` names the events table
 * in the query ('' for none).
 */
export function metadataSql(alias = ''): string {
  const a = alias ? `${alias}.` : '';
  return `CASE WHEN ${a}metadata ? 'at' THEN ${a}metadata ELSE ${a}metadata || jsonb_build_object('at', to_char(${a}recorded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')) END`;
}

/** An event's time as the query reads it: its metadata's `at`, or the column that holds it. */
export function atSql(alias = ''): string {
  const a = alias ? `${alias}.` : '';
  return `coalesce((${a}metadata->>'at')::timestamptz, ${a}recorded_at)`;
}

/**
 * `append_batch` as it stands since chained appends: an item with "c" runs only if the one before
 * it was stored; with `attachments`, an item's "b" payloads go to the blobs table when it is.
 */
function appendBatchFunction(s: string, options: { attachments: boolean }): string {
  const attach = options.attachments
    ? `
    IF v_prev_stored AND a.item ? 'b' THEN
      ${insertAttachments(s, `a.item->'b'`)};
    END IF;`
    : '';
  return `
CREATE OR REPLACE FUNCTION ${s}.append_batch(p_batch jsonb)
RETURNS TABLE (idx int, status text, last_revision bigint, last_position bigint, detail text)
LANGUAGE plpgsql AS $$
DECLARE
  a record;
  r record;
  v_prev_stored boolean := true;
BEGIN
  FOR a IN SELECT x.item, x.n FROM jsonb_array_elements(p_batch) WITH ORDINALITY AS x(item, n) LOOP
    idx := a.n;
    IF coalesce((a.item->>'c')::boolean, false) AND NOT v_prev_stored THEN
      status := 'skipped'; last_revision := NULL; last_position := NULL; detail := NULL;
    ELSE
      SELECT * INTO r FROM ${s}.append_one(a.item->>'s', a.item->>'k', (a.item->>'e')::bigint, a.item->'v');
      status := r.status; last_revision := r.last_revision; last_position := r.last_position; detail := r.detail;
    END IF;
    v_prev_stored := status IN ('ok', 'idempotent');${attach}
    RETURN NEXT;
  END LOOP;
END
$$;
`;
}

/**
 * Stores an append's attachments, given as the JSON array pendingAppend.ts encodes
 * (`[{ r: ref, j: json text, n: bytes }]`) in `source`: in `append_batch` and beside
 * `append_events` (postgresEventStore.ts), the one decoding of that array.
 */
export function insertAttachments(s: string, source: string): string {
  return `INSERT INTO ${s}.blobs (ref, content, bytes)
        SELECT b->>'r', (b->>'j')::jsonb, (b->>'n')::int FROM jsonb_array_elements(${source}) AS b
        ON CONFLICT (ref) DO NOTHING`;
}
