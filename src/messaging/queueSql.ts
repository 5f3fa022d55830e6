import type { SqlQueryable } from '../infra/sql/sqlClient.js';
import { assertIdentifier } from '../infra/sql/sqlClient.js';

/** A `MessageSent` about to become a row. */
export interface MessageToMaterialise {
  readonly messageId: string;
  readonly sender: string;
  readonly recipient: string;
  readonly payload: unknown;
  readonly priority: number;
  readonly dedupeKey: string | null;
  readonly position: bigint;
  readonly sentAt: string;
}

export interface RecipientEnded {
  readonly agentId: string;
  readonly status: string;
  readonly position: bigint;
}

export interface MessageState {
  readonly messageId: string;
  readonly recipient: string;
  readonly state: 'pending' | 'inflight' | 'acked' | 'dead';
  readonly deadReason: string | null;
}

/** A message of a projected batch; `inserted`: this batch wrote its row (the outbox had not). */
export interface AppliedMessage extends MessageState {
  readonly inserted: boolean;
}

export interface ClaimedRow {
  readonly messageId: string;
  readonly from: string;
  readonly payload: unknown;
  readonly priority: number;
  readonly position: bigint;
  readonly attempt: number;
  readonly sentAt: Date;
  readonly dead: boolean;
}

export interface ClaimResult {
  readonly rows: ClaimedRow[];
  /** With nothing claimed: ms until a message in flight becomes visible again (null: none is). */
  readonly nextVisibleInMs: number | null;
}

/** A message waiting in an inbox, as a look (`peek`) sees it: nothing about it changes. */
export interface PeekedMessage {
  readonly messageId: string;
  readonly from: string;
  readonly payload: unknown;
  readonly priority: number;
  /** Deliveries so far (a claim that was not acknowledged in time counts one). */
  readonly attempts: number;
  /** pending: never claimed; inflight: claimed, its visibility timeout has run out. */
  readonly state: 'pending' | 'inflight';
  readonly sentAt: Date;
}

/** A message that will not be delivered, and why (reports and the CLI list these). */
export interface DeadLetter {
  readonly messageId: string;
  readonly from: string;
  readonly to: string;
  readonly payload: unknown;
  readonly priority: number;
  readonly attempts: number;
  readonly reason: string;
  readonly sentAt: Date;
  readonly deadAt: Date;
}

export class CheckpointMoved extends Error {
  constructor() {
    super('the message projection checkpoint was moved by another process');
  }
}

/**
 * The queue's SQL, one method per operation. Every statement is a single round trip and works
 * the same on a Postgres server and on PGlite.
 */
export class QueueSql {
  private readonly s: string;

  constructor(schema: string) {
    this.s = assertIdentifier(schema);
  }

  async checkpoint(q: SqlQueryable): Promise<bigint> {
    const r = await q.query<{ position: bigint }>(`SELECT position FROM ${this.s}.message_checkpoint`);
    return r.rows[0]?.position ?? 0n;
  }

  /** Moves the checkpoint from `expected` to `to`, or throws `CheckpointMoved`. */
  async advance(q: SqlQueryable, expected: bigint, to: bigint): Promise<void> {
    const r = await q.query(`UPDATE ${this.s}.message_checkpoint SET position = $2, updated_at = now() WHERE position = $1`, [expected.toString(), to.toString()]);
    if (r.rowCount !== 1) throw new CheckpointMoved();
  }

  /** One projected batch in one round trip (see `messages_apply` in schema.ts). */
  async applyBatch(
    q: SqlQueryable,
    b: { expected: bigint; to: bigint; messages: readonly MessageToMaterialise[]; ended: readonly RecipientEnded[]; acks: readonly { recipient: string; messageId: string }[]; channel: string; instanceId: string; storeChannel: string | null },
  ): Promise<AppliedMessage[]> {
    const messages = b.messages.map((m) => ({
      message_id: m.messageId, sender: m.sender, recipient: m.recipient, payload: m.payload, priority: m.priority,
      dedupe_key: m.dedupeKey, position: m.position.toString(), sent_at: m.sentAt,
    }));
    const ended = b.ended.map((e) => ({ agent_id: e.agentId, status: e.status, position: e.position.toString() }));
    const acks = b.acks.map((a) => ({ message_id: a.messageId, recipient: a.recipient }));
    try {
      const r = await q.query<{ message_id: string; recipient: string; state: MessageState['state']; dead_reason: string | null; inserted: boolean }>(
        `SELECT * FROM ${this.s}.messages_apply($1, $2, $3::jsonb, $4::jsonb, $5::jsonb, $6, $7, $8)`,
        [b.expected.toString(), b.to.toString(), JSON.stringify(messages), JSON.stringify(ended), JSON.stringify(acks), b.channel, b.instanceId, b.storeChannel],
        { prepareAs: `cadre_messages_apply_${this.s}` },
      );
      return r.rows.map((x) => ({ messageId: x.message_id, recipient: x.recipient, state: x.state, deadReason: x.dead_reason, inserted: x.inserted }));
    } catch (err) {
      if (typeof err === 'object' && err !== null && (err as { code?: unknown }).code === 'CD201') throw new CheckpointMoved();
      throw err;
    }
  }

  /** Where the outbox trigger took over writing rows, or null if this schema has none. */
  async outboxSince(q: SqlQueryable): Promise<bigint | null> {
    const table = await q.query<{ t: string | null }>(`SELECT to_regclass('${this.s}.message_outbox')::text AS t`);
    if (!table.rows[0]?.t) return null;
    const r = await q.query<{ since_position: bigint }>(`SELECT since_position FROM ${this.s}.message_outbox`);
    return r.rows[0]?.since_position ?? null;
  }

  async recordEnded(q: SqlQueryable, ended: readonly RecipientEnded[]): Promise<void> {
    if (ended.length === 0) return;
    await q.query(
      `INSERT INTO ${this.s}.message_recipients_ended (agent_id, status, position)
       SELECT x.agent_id, x.status, x.position FROM jsonb_to_recordset($1::jsonb) AS x(agent_id text, status text, position bigint)
       ON CONFLICT (agent_id) DO NOTHING`,
      [JSON.stringify(ended.map((e) => ({ agent_id: e.agentId, status: e.status, position: e.position.toString() })))],
    );
  }

  /** Idempotent: a message id already stored keeps its row (dedupe, replays, retries). */
  async insertMessages(q: SqlQueryable, messages: readonly MessageToMaterialise[]): Promise<void> {
    if (messages.length === 0) return;
    const rows = messages.map((m) => ({
      message_id: m.messageId,
      sender: m.sender,
      recipient: m.recipient,
      payload: m.payload,
      priority: m.priority,
      dedupe_key: m.dedupeKey,
      position: m.position.toString(),
      sent_at: m.sentAt,
    }));
    await q.query(
      `INSERT INTO ${this.s}.messages (message_id, sender, recipient, payload, priority, dedupe_key, position, state, sent_at, dead_at, dead_reason)
       SELECT x.message_id, x.sender, x.recipient, x.payload, x.priority, x.dedupe_key, x.position,
              CASE WHEN e.agent_id IS NULL THEN 'pending' ELSE 'dead' END, x.sent_at,
              CASE WHEN e.agent_id IS NULL THEN NULL ELSE now() END,
              CASE WHEN e.agent_id IS NULL THEN NULL ELSE 'recipient ' || e.status END
         FROM jsonb_to_recordset($1::jsonb) AS x(message_id text, sender text, recipient text, payload jsonb, priority smallint,
                                                  dedupe_key text, position bigint, sent_at timestamptz)
         LEFT JOIN ${this.s}.message_recipients_ended e ON e.agent_id = x.recipient
       ON CONFLICT (message_id) DO NOTHING`,
      [JSON.stringify(rows)],
    );
  }

  /** Dead-letters what ended recipients still had pending or in flight; returns how many. */
  async deadLetterEnded(q: SqlQueryable, agentIds: readonly string[]): Promise<number> {
    if (agentIds.length === 0) return 0;
    const r = await q.query(
      `UPDATE ${this.s}.messages m SET state = 'dead', dead_at = now(), dead_reason = 'recipient ' || e.status
         FROM ${this.s}.message_recipients_ended e
        WHERE e.agent_id = ANY($1::text[]) AND m.recipient = e.agent_id AND m.state IN ('pending', 'inflight')`,
      [agentIds],
    );
    return r.rowCount;
  }

  /** Applies recorded `MessageAcked` events (a no-op when the ack path already did). */
  async markAcked(q: SqlQueryable, acks: readonly { recipient: string; messageId: string }[]): Promise<void> {
    if (acks.length === 0) return;
    await q.query(
      `UPDATE ${this.s}.messages m SET state = 'acked', acked_at = coalesce(m.acked_at, now())
         FROM jsonb_to_recordset($1::jsonb) AS x(message_id text, recipient text)
        WHERE m.message_id = x.message_id AND m.recipient = x.recipient AND m.state IN ('pending', 'inflight')`,
      [JSON.stringify(acks.map((a) => ({ message_id: a.messageId, recipient: a.recipient })))],
    );
  }

  async states(q: SqlQueryable, messageIds: readonly string[]): Promise<MessageState[]> {
    if (messageIds.length === 0) return [];
    const r = await q.query<{ message_id: string; recipient: string; state: MessageState['state']; dead_reason: string | null }>(
      `SELECT message_id, recipient, state, dead_reason FROM ${this.s}.messages WHERE message_id = ANY($1::text[])`,
      [messageIds],
    );
    return r.rows.map((x) => ({ messageId: x.message_id, recipient: x.recipient, state: x.state, deadReason: x.dead_reason }));
  }

  async notify(q: SqlQueryable, channel: string, payload: string): Promise<void> {
    await q.query(`SELECT pg_notify($1, $2)`, [channel, payload], { prepareAs: 'cadre_notify' });
  }

  /**
   * Claims up to `max` of the recipient's deliverable messages, best first, skipping rows other
   * receivers hold. A message already delivered `maxAttempts` times is dead-lettered instead.
   */
  async claim(q: SqlQueryable, recipient: string, max: number, maxAttempts: number, visibilityMs: number): Promise<ClaimResult> {
    type Out = { message_id: string | null; sender: string; payload: unknown; priority: number; position: bigint; attempts: number; state: string; sent_at: Date; next_visible_ms: number | null };
    // One round trip whether or not anything is deliverable: with nothing to claim, the last
    // branch says when the next claimed-but-unacknowledged message becomes visible again (the
    // receiver's timer). Both branches read the same snapshot, taken before the update.
    const r = await q.query<Out>(
      `WITH picked AS (
         SELECT message_id FROM ${this.s}.messages
          WHERE recipient = $1 AND state IN ('pending', 'inflight') AND (state = 'pending' OR visible_at <= now())
          ORDER BY priority DESC, position ASC
          LIMIT $2
          FOR UPDATE SKIP LOCKED),
       claimed AS (
       UPDATE ${this.s}.messages m SET
         state = CASE WHEN m.attempts >= $3 THEN 'dead' ELSE 'inflight' END,
         attempts = CASE WHEN m.attempts >= $3 THEN m.attempts ELSE m.attempts + 1 END,
         visible_at = CASE WHEN m.attempts >= $3 THEN m.visible_at ELSE now() + $4::int * interval '1 millisecond' END,
         dead_at = CASE WHEN m.attempts >= $3 THEN now() END,
         dead_reason = CASE WHEN m.attempts >= $3 THEN 'not acknowledged after ' || m.attempts || ' deliveries' END
         FROM picked WHERE m.message_id = picked.message_id
       RETURNING m.message_id, m.sender, m.payload, m.priority, m.position, m.attempts, m.state, m.sent_at)
       SELECT claimed.*, NULL::float8 AS next_visible_ms FROM claimed
       UNION ALL
       SELECT NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
              (SELECT (extract(epoch FROM (min(visible_at) - now())) * 1000)::float8
                 FROM ${this.s}.messages WHERE recipient = $1 AND state = 'inflight')
        WHERE NOT EXISTS (SELECT 1 FROM claimed)`,
      [recipient, max, maxAttempts, visibilityMs],
    );
    const rows = r.rows
      .filter((x): x is Out & { message_id: string } => x.message_id !== null)
      .map((x) => ({ messageId: x.message_id, from: x.sender, payload: x.payload, priority: x.priority, position: x.position, attempt: x.attempts, sentAt: new Date(x.sent_at), dead: x.state === 'dead' }))
      .sort((a, b) => b.priority - a.priority || (a.position < b.position ? -1 : a.position > b.position ? 1 : 0));
    const ms = rows.length === 0 ? r.rows[0]?.next_visible_ms : null;
    return { rows, nextVisibleInMs: ms === null || ms === undefined ? null : Math.max(0, ms) };
  }

  /**
   * The messages a claim would take now, in the order it would take them, read only: no lock,
   * no attempt counted, no visibility changed (`claim` without its UPDATE).
   */
  async peek(q: SqlQueryable, recipient: string, limit: number): Promise<PeekedMessage[]> {
    const r = await q.query<{ message_id: string; sender: string; payload: unknown; priority: number; attempts: number; state: 'pending' | 'inflight'; sent_at: Date }>(
      `SELECT message_id, sender, payload, priority, attempts, state, sent_at FROM ${this.s}.messages
        WHERE recipient = $1 AND state IN ('pending', 'inflight') AND (state = 'pending' OR visible_at <= now())
        ORDER BY priority DESC, position ASC LIMIT $2`,
      [recipient, limit],
    );
    return r.rows.map((x) => ({ messageId: x.message_id, from: x.sender, payload: x.payload, priority: x.priority, attempts: x.attempts, state: x.state, sentAt: new Date(x.sent_at) }));
  }

  /** Marks claimed messages acknowledged; returns the ids that were in flight (acked now, once). */
  async ack(q: SqlQueryable, recipient: string, messageIds: readonly string[]): Promise<string[]> {
    const r = await q.query<{ message_id: string }>(
      `UPDATE ${this.s}.messages SET state = 'acked', acked_at = now()
        WHERE recipient = $1 AND message_id = ANY($2::text[]) AND state = 'inflight' RETURNING message_id`,
      [recipient, messageIds],
    );
    return r.rows.map((x) => x.message_id);
  }

  /** Pending plus in-flight messages of the recipient: what counts against its inbox bound. */
  async depth(q: SqlQueryable, recipient: string): Promise<number> {
    const r = await q.query<{ n: bigint }>(
      `SELECT count(*) AS n FROM ${this.s}.messages WHERE recipient = $1 AND state IN ('pending', 'inflight')`,
      [recipient],
    );
    return Number(r.rows[0]?.n ?? 0n);
  }

  async exists(q: SqlQueryable, messageId: string): Promise<MessageState | null> {
    return (await this.states(q, [messageId]))[0] ?? null;
  }

  /** Dead-letters expired messages that used up their deliveries; returns their recipients. */
  async sweep(q: SqlQueryable, maxAttempts: number, recipient: string | null): Promise<string[]> {
    const r = await q.query<{ recipient: string }>(
      `WITH expired AS (
         SELECT message_id, NULL::text AS ended FROM ${this.s}.messages
          WHERE state = 'inflight' AND attempts >= $1 AND visible_at <= now() AND ($2::text IS NULL OR recipient = $2)
          FOR UPDATE SKIP LOCKED),
       -- A send that committed while its recipient's end was being projected saw neither the other:
       -- its row is pending for an agent that will never take it.
       orphaned AS (
         SELECT m.message_id, e.status AS ended FROM ${this.s}.messages m JOIN ${this.s}.message_recipients_ended e ON e.agent_id = m.recipient
          WHERE m.state IN ('pending', 'inflight') AND ($2::text IS NULL OR m.recipient = $2)
          FOR UPDATE OF m SKIP LOCKED)
       UPDATE ${this.s}.messages m SET state = 'dead', dead_at = now(),
              dead_reason = coalesce('recipient ' || x.ended, 'not acknowledged after ' || m.attempts || ' deliveries')
         FROM (SELECT * FROM expired UNION ALL SELECT * FROM orphaned) x WHERE m.message_id = x.message_id
       RETURNING m.recipient`,
      [maxAttempts, recipient],
    );
    return [...new Set(r.rows.map((x) => x.recipient))];
  }

  async deadLetters(q: SqlQueryable, recipient: string | null, limit: number): Promise<DeadLetter[]> {
    const r = await q.query<{
      message_id: string; sender: string; recipient: string; payload: unknown; priority: number; attempts: number;
      dead_reason: string | null; sent_at: Date; dead_at: Date;
    }>(
      `SELECT message_id, sender, recipient, payload, priority, attempts, dead_reason, sent_at, dead_at FROM ${this.s}.messages
        WHERE state = 'dead' AND ($1::text IS NULL OR recipient = $1) ORDER BY dead_at, position LIMIT $2`,
      [recipient, limit],
    );
    return r.rows.map((x) => ({
      messageId: x.message_id,
      from: x.sender,
      to: x.recipient,
      payload: x.payload,
      priority: x.priority,
      attempts: x.attempts,
      reason: x.dead_reason ?? 'unknown',
      sentAt: new Date(x.sent_at),
      deadAt: new Date(x.dead_at),
    }));
  }
}
