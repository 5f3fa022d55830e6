import type { SqlClient } from '../sql/sqlClient.js';
import { assertIdentifier } from '../sql/sqlClient.js';
import { migrate } from '../sql/migrate.js';
import type { ActorIndex, ActorIndexEntry, BlobStore, SnapshotStore, StoredSnapshot } from '../../actors/ports/runtimePorts.js';
import { InvalidInput, NotFound } from '../../errors.js';
import { packed, refOf, unpacked } from './blobParts.js';

/** Tables the runtime keeps beside the events: snapshots, the actor index with leases, blobs. */
export function runtimeMigrations(schema: string): string[] {
  const s = assertIdentifier(schema);
  return [
    `
CREATE TABLE ${s}.snapshots (
  stream_id text PRIMARY KEY,
  revision bigint NOT NULL,
  machine_version int NOT NULL,
  state jsonb NOT NULL,
  saved_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE ${s}.actor_index (
  agent_id text PRIMARY KEY,
  parent_id text,
  root_id text NOT NULL,
  status text NOT NULL CHECK (status IN ('live', 'ended')),
  lease_owner text,
  lease_expires_at timestamptz,
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX actor_index_live ON ${s}.actor_index (agent_id) WHERE status = 'live';
CREATE TABLE ${s}.blobs (
  ref text PRIMARY KEY,
  content jsonb NOT NULL,
  bytes int NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
`,
    // A process running an agent claims the free actors of its subtree every lease tick
    // (listUnleased within): the recursive walk goes down parent_id among live rows.
    `CREATE INDEX actor_index_live_parent ON ${s}.actor_index (parent_id) WHERE status = 'live';`,
    indexFollowsEvents(s),
    indexSettlesWithEvents(s),
  ];
}

/**
 * Where the events live in this same schema, an agent's actor-index entry is written by its
 * AgentSpawned, in the append's own transaction, born leased to the process that opens the stream
 * (its `leaseTo` metadata). The runtime wrote it as a statement and a commit of its own before
 * the append (1.25 of the 9.8 commits of a workflow's agent step, bench/workflow). Only inserts:
 * a new row cannot deadlock with the lease ticks' updates. (Ending one: indexSettlesWithEvents.)
 * With the events elsewhere (EventStoreDB) there is no such table here and nothing is created:
 * the runtime writes every entry.
 */
function indexFollowsEvents(s: string): string {
  return eventsTrigger(s, 'actor_index_follow', `NEW.type = 'AgentSpawned'`, `
      INSERT INTO ${s}.actor_index (agent_id, parent_id, root_id, status, lease_owner, lease_expires_at)
        VALUES (NEW.data->>'agentId', NEW.data->>'parentId', NEW.data->>'rootId', 'live', NEW.metadata->'leaseTo'->>'owner',
                now() + ((NEW.metadata->'leaseTo'->>'ttlMs')::int * interval '1 millisecond'))
        ON CONFLICT (agent_id) DO NOTHING;`);
}

/**
 * An agent whose ending leaves nothing to do after its commit (no worktree; a child's end
 * recorded by its parent in the same commit) is ended in the actor index by that commit: the
 * event whose metadata `settles` names it (a parent's ChildFinished for the child, the last event
 * of a root's ending for the root). It saved the runtime's `markEnded`, a statement and a commit
 * per agent step.
 *
 * Unlike the AgentSpawned insert this updates existing rows, several per group commit in the
 * order the appends came in; a lease tick renewing many rows in another order used to deadlock
 * with it (at 50 workflows in flight). The lease statements below therefore never wait for a
 * row lock (SKIP LOCKED): only a transaction that waits can close a cycle.
 */
function indexSettlesWithEvents(s: string): string {
  return eventsTrigger(s, 'actor_index_settle', `NEW.metadata ? 'settles'`, `
      UPDATE ${s}.actor_index SET status = 'ended', lease_owner = NULL, lease_expires_at = NULL, updated_at = now()
       WHERE agent_id = NEW.metadata->>'settles';`);
}

/** A row trigger on the events, created only where they live in this schema (not beside EventStoreDB). */
function eventsTrigger(s: string, name: string, when: string, body: string): string {
  return `
DO $$
BEGIN
  IF to_regclass('${s}.events') IS NOT NULL THEN
    CREATE FUNCTION ${s}.${name}() RETURNS trigger LANGUAGE plpgsql AS $f$
    BEGIN${body}
      RETURN NULL;
    END $f$;
    CREATE TRIGGER ${name} AFTER INSERT ON ${s}.events
      FOR EACH ROW WHEN (${when})
      EXECUTE FUNCTION ${s}.${name}();
  END IF;
END $$;
`;
}

export async function migrateRuntime(sql: SqlClient, schema: string, options: { readonly onlyIfBehind?: boolean } = {}): Promise<void> {
  await migrate(sql, schema, 'runtime', runtimeMigrations(schema), options);
}

export function createSnapshotStore(sql: SqlClient, schema: string): SnapshotStore {
  const s = assertIdentifier(schema);
  return {
    async load(streamId) {
      const r = await sql.query<{ revision: bigint; machine_version: number; state: unknown }>(
        `SELECT revision, machine_version, state FROM ${s}.snapshots WHERE stream_id = $1`,
        [streamId],
      );
      const row = r.rows[0];
      return row ? { streamId, revision: row.revision, machineVersion: row.machine_version, state: row.state } : null;
    },
    async loadMany(streamIds) {
      const r = await sql.query<{ stream_id: string; revision: bigint; machine_version: number; state: unknown }>(
        `SELECT stream_id, revision, machine_version, state FROM ${s}.snapshots WHERE stream_id = ANY($1::text[])`,
        [streamIds],
      );
      return new Map(r.rows.map((row) => [row.stream_id, { streamId: row.stream_id, revision: row.revision, machineVersion: row.machine_version, state: row.state }]));
    },
    async save(snap: StoredSnapshot) {
      await sql.query(
        `INSERT INTO ${s}.snapshots (stream_id, revision, machine_version, state) VALUES ($1, $2, $3, $4::jsonb)
         ON CONFLICT (stream_id) DO UPDATE SET revision = EXCLUDED.revision, machine_version = EXCLUDED.machine_version,
           state = EXCLUDED.state, saved_at = now()
         WHERE ${s}.snapshots.revision < EXCLUDED.revision`,
        [snap.streamId, snap.revision.toString(), snap.machineVersion, JSON.stringify(snap.state)],
      );
    },
  };
}

/**
 * `sameDatabaseAsEvents`: the event store writes to this same schema, so the index follows the
 * appends (`indexFollowsEvents`), and a leased registration (worker mode) may commit without
 * waiting for its WAL flush: the agent's first event is appended right after it with a
 * synchronous commit, and flushing that commit's WAL flushes the earlier registration too (WAL is
 * one sequence). A crash before that append can only lose a registration with no stream behind
 * it. With another store (EventStoreDB) every write here is the runtime's and waits for its flush.
 */
export function createActorIndex(sql: SqlClient, schema: string, options: { sameDatabaseAsEvents?: boolean } = {}): ActorIndex {
  const s = assertIdentifier(schema);
  const deferred = options.sameDatabaseAsEvents ? `WITH deferred AS MATERIALIZED (SELECT set_config('synchronous_commit', 'off', true)) ` : '';
  type Row = { agent_id: string; parent_id: string | null; root_id: string; status: 'live' | 'ended' };
  const toEntry = (r: Row): ActorIndexEntry => ({ agentId: r.agent_id, parentId: r.parent_id, rootId: r.root_id, status: r.status });
  return {
    followsEvents: options.sameDatabaseAsEvents === true,
    async register(e, lease) {
      const r = await sql.query(
        `${deferred}INSERT INTO ${s}.actor_index (agent_id, parent_id, root_id, status, lease_owner, lease_expires_at)
           SELECT $1, $2, $3, 'live', $4::text, CASE WHEN $4::text IS NULL THEN NULL ELSE now() + ($5::int * interval '1 millisecond') END${deferred ? ' FROM deferred' : ''}
           ON CONFLICT (agent_id) DO NOTHING`,
        [e.agentId, e.parentId, e.rootId, lease?.owner ?? null, lease?.ttlMs ?? 0],
      );
      return r.rowCount === 1;
    },
    async markEnded(agentId) {
      await sql.query(`UPDATE ${s}.actor_index SET status = 'ended', lease_owner = NULL, lease_expires_at = NULL, updated_at = now() WHERE agent_id = $1`, [agentId], { prepareAs: `cadre_index_ended_${s}` });
    },
    async forget(agentId) {
      await sql.query(`DELETE FROM ${s}.actor_index WHERE agent_id = $1`, [agentId]);
    },
    async listLive() {
      const r = await sql.query<Row>(`SELECT agent_id, parent_id, root_id, status FROM ${s}.actor_index WHERE status = 'live'`);
      return r.rows.map(toEntry);
    },
    async get(agentId) {
      const r = await sql.query<Row>(`SELECT agent_id, parent_id, root_id, status FROM ${s}.actor_index WHERE agent_id = $1`, [agentId]);
      return r.rows[0] ? toEntry(r.rows[0]) : null;
    },
    async acquireLeases(owner, ids, ttlMs) {
      if (ids.length === 0) return [];
      // Rows another transaction holds are skipped, never waited for (see indexSettlesWithEvents);
      // one of ours skipped so is still ours as last committed, and counts as held: the holder is
      // ending it, or is a claimant that will take it only if it lapsed (seen at the next tick).
      const r = await sql.query<{ agent_id: string }>(
        `WITH free AS (
           SELECT agent_id FROM ${s}.actor_index
            WHERE agent_id = ANY($2::text[]) AND status = 'live' AND (lease_owner IS NULL OR lease_owner = $1 OR lease_expires_at < now())
            FOR UPDATE SKIP LOCKED),
         taken AS (
           UPDATE ${s}.actor_index a SET lease_owner = $1, lease_expires_at = now() + ($3::int * interval '1 millisecond')
             FROM free WHERE a.agent_id = free.agent_id
           RETURNING a.agent_id)
         SELECT agent_id FROM taken
         UNION ALL
         SELECT agent_id FROM ${s}.actor_index
          WHERE agent_id = ANY($2::text[]) AND status = 'live' AND lease_owner = $1 AND lease_expires_at >= now()
            AND agent_id NOT IN (SELECT agent_id FROM free)`,
        [owner, ids, ttlMs],
      );
      return r.rows.map((x) => x.agent_id);
    },
    async releaseLeases(owner, ids) {
      // SKIP LOCKED, as above: a row being ended or claimed meanwhile needs no release.
      await sql.query(
        `UPDATE ${s}.actor_index SET lease_owner = NULL, lease_expires_at = NULL
          WHERE agent_id IN (SELECT agent_id FROM ${s}.actor_index WHERE lease_owner = $1 AND ($2::text[] IS NULL OR agent_id = ANY($2::text[])) FOR UPDATE SKIP LOCKED)`,
        [owner, ids ?? null],
      );
    },
    async leaseOwners() {
      const r = await sql.query<{ lease_owner: string }>(`SELECT DISTINCT lease_owner FROM ${s}.actor_index WHERE status = 'live' AND lease_owner IS NOT NULL AND lease_expires_at >= now()`);
      return r.rows.map((x) => x.lease_owner);
    },
    async leaseHolders(agentIds) {
      if (agentIds.length === 0) return new Map();
      const r = await sql.query<{ agent_id: string; lease_owner: string }>(
        `SELECT agent_id, lease_owner FROM ${s}.actor_index WHERE agent_id = ANY($1::text[]) AND status = 'live' AND lease_owner IS NOT NULL AND lease_expires_at >= now()`,
        [agentIds],
      );
      return new Map(r.rows.map((x) => [x.agent_id, x.lease_owner]));
    },
    async listUnleased(limit, within) {
      const free = `status = 'live' AND (lease_owner IS NULL OR lease_expires_at < now())`;
      const r = within
        ? await sql.query<{ agent_id: string }>(
            `WITH RECURSIVE sub AS (
               SELECT agent_id FROM ${s}.actor_index WHERE agent_id = ANY($2::text[]) AND status = 'live'
               UNION SELECT a.agent_id FROM ${s}.actor_index a JOIN sub ON a.parent_id = sub.agent_id WHERE a.status = 'live'
             )
             SELECT agent_id FROM ${s}.actor_index WHERE agent_id IN (SELECT agent_id FROM sub) AND ${free} ORDER BY updated_at LIMIT $1`,
            [limit, within],
          )
        : await sql.query<{ agent_id: string }>(`SELECT agent_id FROM ${s}.actor_index WHERE ${free} ORDER BY updated_at LIMIT $1`, [limit]);
      return r.rows.map((x) => x.agent_id);
    },
  };
}

export function createBlobStore(sql: SqlClient, schema: string): BlobStore {
  const s = assertIdentifier(schema);
  const cache = new Map<string, unknown>();
  const staged = new Map<string, unknown>();
  // Refs an append stored in its commit (`stored`): the tool list part (~1 KB) every turn of
  // every agent names was sent and parsed again with each one.
  const known = new Set<string>();
  const load = async (ref: string): Promise<unknown> => {
    if (!/^sha256:[0-9a-f]{64}$/.test(ref)) throw new InvalidInput('ref', `not a blob reference: ${ref}`);
    if (cache.has(ref)) return cache.get(ref);
    if (staged.has(ref)) return staged.get(ref);
    const r = await sql.query<{ content: unknown }>(`SELECT content FROM ${s}.blobs WHERE ref = $1`, [ref], { prepareAs: `cadre_blob_get_${s}` });
    if (!r.rows[0]) throw new NotFound('blob', ref);
    const value = await unpacked(r.rows[0].content, load);
    remember(cache, ref, value);
    return value;
  };
  return {
    stage(value) {
      const json = JSON.stringify(value);
      const ref = refOf(json);
      // Readable at once, but not taken as stored by put(): the append may not be.
      remember(staged, ref, value);
      // Parts known to be in the table (put or read here) are not sent again: a turn's request
      // names every earlier tool output, and each went into the table when it was put.
      const stored = packed(value, json);
      const parts = stored.parts.filter((p) => !cache.has(p.ref) && !known.has(p.ref));
      return { ref, json: stored.json, ...(parts.length > 0 ? { parts } : {}) };
    },
    stored(attachments) {
      if (known.size >= MAX_KNOWN_REFS) known.clear();
      for (const a of attachments) known.add(a.ref);
    },
    async put(value) {
      const json = JSON.stringify(value);
      const ref = refOf(json);
      if (cache.has(ref)) return ref;
      const stored = packed(value, json);
      for (const part of [...stored.parts.filter((p) => !cache.has(p.ref)), { ref, json: stored.json }]) {
        await sql.query(`INSERT INTO ${s}.blobs (ref, content, bytes) VALUES ($1, $2::jsonb, $3) ON CONFLICT (ref) DO NOTHING`, [part.ref, part.json, Buffer.byteLength(part.json)], { prepareAs: `cadre_blob_put_${s}` });
      }
      remember(cache, ref, value);
      return ref;
    },
    get: load,
  };
}


const MAX_KNOWN_REFS = 10_000;

/** A small bounded cache: recent prompts are re-read on the next turn. */
function remember(cache: Map<string, unknown>, ref: string, value: unknown): void {
  cache.set(ref, value);
  if (cache.size > 500) cache.delete(cache.keys().next().value as string);
}
