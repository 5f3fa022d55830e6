import { assertIdentifier } from '../infra/sql/sqlClient.js';
import { AGENT_STREAM_PREFIX } from '../actors/streams.js';
import { POSITION_SEQ_BITS } from '../events/stores/postgres/schema.js';

/** The NOTIFY channel on which materialised batches wake receivers (one per schema). */
export const messagesChannel = (schema: string): string => `${assertIdentifier(schema)}_messages`;

/**
 * The queue's tables (ordered migrations; append only).
 *
 * - `messages`: one row per message id, created from `MessageSent`: by the outbox trigger in
 *   the appending transaction when the store is in this schema, else by the projection.
 *   `position` is the event's global position: send order. `state` moves
 *   pending → inflight (claimed; visible again at `visible_at`) → acked | dead.
 * - `message_checkpoint`: the global position the projection has applied, moved in the same
 *   transaction as the rows.
 * - `message_recipients_ended`: agents whose end the projection has seen; a message that
 *   arrives for one of them is dead on arrival.
 * - `messages_apply(...)`: one projected batch in one call (one round trip, so the transaction
 *   that hides newer events from the store's readers stays short): checkpoint compare-and-set
 *   (CD201 if another process moved it), rows, ends, acks, and the NOTIFYs.
 */
export function messagingMigrations(schema: string): string[] {
  const s = assertIdentifier(schema);
  return [
    `
CREATE TABLE ${s}.messages (
  message_id text PRIMARY KEY,
  sender text NOT NULL,
  recipient text NOT NULL,
  payload jsonb NOT NULL,
  priority smallint NOT NULL,
  dedupe_key text,
  position bigint NOT NULL,
  state text NOT NULL CHECK (state IN ('pending', 'inflight', 'acked', 'dead')),
  attempts int NOT NULL DEFAULT 0,
  visible_at timestamptz NOT NULL DEFAULT now(),
  sent_at timestamptz NOT NULL,
  acked_at timestamptz,
  dead_at timestamptz,
  dead_reason text
);
CREATE INDEX messages_ready ON ${s}.messages (recipient, priority DESC, position) WHERE state IN ('pending', 'inflight');
CREATE INDEX messages_dead ON ${s}.messages (recipient, dead_at) WHERE state = 'dead';
CREATE TABLE ${s}.message_checkpoint (
  id boolean PRIMARY KEY DEFAULT true CHECK (id),
  position bigint NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO ${s}.message_checkpoint (id, position) VALUES (true, 0);
CREATE TABLE ${s}.message_recipients_ended (
  agent_id text PRIMARY KEY,
  status text NOT NULL,
  position bigint NOT NULL
);
CREATE FUNCTION ${s}.messages_apply(p_expected bigint, p_to bigint, p_messages jsonb, p_ended jsonb, p_acks jsonb,
                                    p_channel text, p_instance text, p_store_channel text)
RETURNS TABLE (message_id text, recipient text, state text, dead_reason text)
LANGUAGE plpgsql AS $$
DECLARE
  v_woken text;
BEGIN
  -- Rows and checkpoint commit together, so a server crash can only roll both back and the
  -- batch is projected again from its events: no need to wait for the WAL flush.
  PERFORM set_config('synchronous_commit', 'off', true);
  UPDATE ${s}.message_checkpoint c SET position = p_to, updated_at = now() WHERE c.position = p_expected;
  IF NOT FOUND THEN
    RAISE EXCEPTION USING ERRCODE = 'CD201', MESSAGE = 'message projection checkpoint moved by another process';
  END IF;
  INSERT INTO ${s}.message_recipients_ended (agent_id, status, position)
    SELECT x.agent_id, x.status, x.position FROM jsonb_to_recordset(p_ended) AS x(agent_id text, status text, position bigint)
    ON CONFLICT (agent_id) DO NOTHING;
  INSERT INTO ${s}.messages (message_id, sender, recipient, payload, priority, dedupe_key, position, state, sent_at, dead_at, dead_reason)
    SELECT x.message_id, x.sender, x.recipient, x.payload, x.priority, x.dedupe_key, x.position,
           CASE WHEN e.agent_id IS NULL THEN 'pending' ELSE 'dead' END, x.sent_at,
           CASE WHEN e.agent_id IS NULL THEN NULL ELSE now() END,
           CASE WHEN e.agent_id IS NULL THEN NULL ELSE 'recipient ' || e.status END
      FROM jsonb_to_recordset(p_messages) AS x(message_id text, sender text, recipient text, payload jsonb, priority smallint,
                                               dedupe_key text, position bigint, sent_at timestamptz)
      LEFT JOIN ${s}.message_recipients_ended e ON e.agent_id = x.recipient
    ON CONFLICT ON CONSTRAINT messages_pkey DO NOTHING;
  UPDATE ${s}.messages m SET state = 'dead', dead_at = now(), dead_reason = 'recipient ' || e.status
    FROM ${s}.message_recipients_ended e
   WHERE e.agent_id IN (SELECT x.agent_id FROM jsonb_to_recordset(p_ended) AS x(agent_id text))
     AND m.recipient = e.agent_id AND m.state IN ('pending', 'inflight');
  UPDATE ${s}.messages m SET state = 'acked', acked_at = coalesce(m.acked_at, now())
    FROM jsonb_to_recordset(p_acks) AS x(message_id text, recipient text)
   WHERE m.message_id = x.message_id AND m.recipient = x.recipient AND m.state IN ('pending', 'inflight');
  IF p_store_channel IS NOT NULL THEN
    PERFORM pg_notify(p_store_channel, '');
  END IF;
  SELECT string_agg(DISTINCT m.recipient, ',') INTO v_woken FROM ${s}.messages m
   WHERE m.message_id IN (SELECT x.message_id FROM jsonb_to_recordset(p_messages) AS x(message_id text)) AND m.state = 'pending';
  IF v_woken IS NOT NULL THEN
    PERFORM pg_notify(p_channel, p_instance || '|' || CASE WHEN length(v_woken) > 7000 THEN '*' ELSE v_woken END);
  END IF;
  RETURN QUERY SELECT m.message_id, m.recipient, m.state, m.dead_reason FROM ${s}.messages m
   WHERE m.message_id IN (SELECT x.message_id FROM jsonb_to_recordset(p_messages) AS x(message_id text));
END
$$;
`,
    // The outbox: when the event store lives in this schema (Postgres, PGlite), a MessageSent
    // becomes its queue row in the very transaction that appends it, so a message is receivable
    // the moment its event commits. The projection then leaves MessageSent (and MessageAcked,
    // whose row the ack itself updated) from `message_outbox.since_position` on to it, and
    // remains the only path for other stores.
    `
-- The projection wakes receivers only for the rows it wrote itself: a row the outbox wrote was
-- announced by its sender, and a NOTIFY inside this transaction is a database-wide lock at commit.
DROP FUNCTION ${s}.messages_apply(bigint, bigint, jsonb, jsonb, jsonb, text, text, text);
CREATE FUNCTION ${s}.messages_apply(p_expected bigint, p_to bigint, p_messages jsonb, p_ended jsonb, p_acks jsonb,
                                    p_channel text, p_instance text, p_store_channel text)
RETURNS TABLE (message_id text, recipient text, state text, dead_reason text, inserted boolean)
LANGUAGE plpgsql AS $$
DECLARE
  v_woken text;
  v_inserted text[];
BEGIN
  -- Rows and checkpoint commit together, so a server crash can only roll both back and the
  -- batch is projected again from its events: no need to wait for the WAL flush.
  PERFORM set_config('synchronous_commit', 'off', true);
  UPDATE ${s}.message_checkpoint c SET position = p_to, updated_at = now() WHERE c.position = p_expected;
  IF NOT FOUND THEN
    RAISE EXCEPTION USING ERRCODE = 'CD201', MESSAGE = 'message projection checkpoint moved by another process';
  END IF;
  INSERT INTO ${s}.message_recipients_ended (agent_id, status, position)
    SELECT x.agent_id, x.status, x.position FROM jsonb_to_recordset(p_ended) AS x(agent_id text, status text, position bigint)
    ON CONFLICT (agent_id) DO NOTHING;
  WITH ins AS (
    INSERT INTO ${s}.messages AS m (message_id, sender, recipient, payload, priority, dedupe_key, position, state, sent_at, dead_at, dead_reason)
      SELECT x.message_id, x.sender, x.recipient, x.payload, x.priority, x.dedupe_key, x.position,
             CASE WHEN e.agent_id IS NULL THEN 'pending' ELSE 'dead' END, x.sent_at,
             CASE WHEN e.agent_id IS NULL THEN NULL ELSE now() END,
             CASE WHEN e.agent_id IS NULL THEN NULL ELSE 'recipient ' || e.status END
        FROM jsonb_to_recordset(p_messages) AS x(message_id text, sender text, recipient text, payload jsonb, priority smallint,
                                                 dedupe_key text, position bigint, sent_at timestamptz)
        LEFT JOIN ${s}.message_recipients_ended e ON e.agent_id = x.recipient
      ON CONFLICT ON CONSTRAINT messages_pkey DO NOTHING
      RETURNING m.message_id)
  SELECT coalesce(array_agg(ins.message_id), '{}') INTO v_inserted FROM ins;
  UPDATE ${s}.messages m SET state = 'dead', dead_at = now(), dead_reason = 'recipient ' || e.status
    FROM ${s}.message_recipients_ended e
   WHERE e.agent_id IN (SELECT x.agent_id FROM jsonb_to_recordset(p_ended) AS x(agent_id text))
     AND m.recipient = e.agent_id AND m.state IN ('pending', 'inflight');
  UPDATE ${s}.messages m SET state = 'acked', acked_at = coalesce(m.acked_at, now())
    FROM jsonb_to_recordset(p_acks) AS x(message_id text, recipient text)
   WHERE m.message_id = x.message_id AND m.recipient = x.recipient AND m.state IN ('pending', 'inflight');
  IF p_store_channel IS NOT NULL THEN
    PERFORM pg_notify(p_store_channel, '');
  END IF;
  SELECT string_agg(DISTINCT m.recipient, ',') INTO v_woken FROM ${s}.messages m
   WHERE m.message_id = ANY (v_inserted) AND m.state = 'pending';
  IF v_woken IS NOT NULL THEN
    PERFORM pg_notify(p_channel, p_instance || '|' || CASE WHEN length(v_woken) > 7000 THEN '*' ELSE v_woken END);
  END IF;
  RETURN QUERY SELECT m.message_id, m.recipient, m.state, m.dead_reason, m.message_id = ANY (v_inserted) FROM ${s}.messages m
   WHERE m.message_id IN (SELECT x.message_id FROM jsonb_to_recordset(p_messages) AS x(message_id text));
END
$$;
${outboxFunction(s, { atInColumn: false })}DO $$
BEGIN
  IF to_regclass('${s}.events') IS NOT NULL THEN
    CREATE TRIGGER messages_outbox AFTER INSERT ON ${s}.events
      FOR EACH ROW WHEN (NEW.type = 'MessageSent' AND NEW.stream_id LIKE '${AGENT_STREAM_PREFIX}%')
      EXECUTE FUNCTION ${s}.messages_outbox();
    -- From which position on the trigger has written every row. CREATE TRIGGER waited for every
    -- transaction that had inserted into the table, and holds off new inserters until this
    -- commits, so any transaction with an id at or past this snapshot's xmax inserts with the
    -- trigger in place (positions are offset + (xid << ${POSITION_SEQ_BITS}) + n). Below it, the projection writes.
    CREATE TABLE ${s}.message_outbox (
      id boolean PRIMARY KEY DEFAULT true CHECK (id),
      since_position bigint NOT NULL
    );
    INSERT INTO ${s}.message_outbox (since_position)
      SELECT st.position_offset + ((pg_snapshot_xmax(pg_current_snapshot())::text::bigint) << ${POSITION_SEQ_BITS}) FROM ${s}.store_settings st;
  END IF;
END
$$;
`,
    // `at` in the column (the event store's `at in the column` step): a MessageSent appended
    // since holds its time in `recorded_at`, not in its metadata.
    outboxFunction(s, { atInColumn: true }),
  ];
}

/** The outbox trigger's function: the message's `sent_at` is its event's `at`, wherever the row holds it. */
function outboxFunction(s: string, options: { atInColumn: boolean }): string {
  const create = options.atInColumn ? 'CREATE OR REPLACE FUNCTION' : 'CREATE FUNCTION';
  const sentAt = options.atInColumn ? `coalesce((NEW.metadata->>'at')::timestamptz, NEW.recorded_at)` : `(NEW.metadata->>'at')::timestamptz`;
  return `${create} ${s}.messages_outbox() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO ${s}.messages (message_id, sender, recipient, payload, priority, dedupe_key, position, state, sent_at, dead_at, dead_reason)
    SELECT NEW.data->>'messageId', substr(NEW.stream_id, ${AGENT_STREAM_PREFIX.length + 1}), NEW.data->>'to',
           coalesce(NEW.data->'payload', 'null'::jsonb), (NEW.data->>'priority')::smallint, NEW.data->>'dedupeKey', NEW.position,
           CASE WHEN e.agent_id IS NULL THEN 'pending' ELSE 'dead' END, ${sentAt},
           CASE WHEN e.agent_id IS NULL THEN NULL ELSE now() END,
           CASE WHEN e.agent_id IS NULL THEN NULL ELSE 'recipient ' || e.status END
      FROM (SELECT 1) AS one LEFT JOIN ${s}.message_recipients_ended e ON e.agent_id = NEW.data->>'to'
    ON CONFLICT (message_id) DO NOTHING;
  RETURN NULL;
END
$$;
`;
}
