import { migrate } from '../../infra/sql/migrate.js';
import { assertIdentifier, type SqlClient } from '../../infra/sql/sqlClient.js';

/**
 * The live export's one row per store: how far spans have been sent (a global position) and
 * which process may send them now. One sender per store, however many processes export: the
 * row's lease (taken and renewed against the database's clock) picks it, and the position moves
 * only while its holder still holds it.
 */
const STEPS = [
  `CREATE TABLE IF NOT EXISTS {s}.otlp_export (
     id int PRIMARY KEY CHECK (id = 1),
     position numeric NOT NULL,
     holder text,
     lease_until timestamptz)`,
];

export interface ExportLease {
  /** Takes or renews the lease for `leaseMs`; the position to send from, or null while another process holds it. */
  take(leaseMs: number): Promise<bigint | null>;
  /** Moves the position, only if this process still holds the lease; false when it lost it. */
  advance(position: bigint): Promise<boolean>;
  /** Lets another process take over at once. */
  release(): Promise<void>;
}

/**
 * Creates the row on first use. A store exports from the moment its first exporter starts (its
 * head then): turning export on does not send a store's whole past (`cadre trace --export` does,
 * one run at a time).
 */
export async function openExportLease(sql: SqlClient, schema: string, holder: string, head: () => Promise<bigint>): Promise<ExportLease> {
  const s = assertIdentifier(schema);
  await migrate(sql, s, 'otlp_export', STEPS.map((t) => t.replaceAll('{s}', s)));
  const exists = await sql.query(`SELECT 1 FROM ${s}.otlp_export WHERE id = 1`);
  if (exists.rows.length === 0) await sql.query(`INSERT INTO ${s}.otlp_export (id, position) VALUES (1, $1) ON CONFLICT (id) DO NOTHING`, [(await head()).toString()]);
  return {
    async take(leaseMs) {
      const r = await sql.query<{ position: string }>(
        `UPDATE ${s}.otlp_export SET holder = $1, lease_until = now() + $2::int * interval '1 millisecond'
          WHERE id = 1 AND (holder = $1 OR holder IS NULL OR lease_until < now()) RETURNING position::text`,
        [holder, leaseMs],
      );
      return r.rows[0] ? BigInt(r.rows[0].position) : null;
    },
    async advance(position) {
      const r = await sql.query(`UPDATE ${s}.otlp_export SET position = $2 WHERE id = 1 AND holder = $1 AND lease_until > now() RETURNING 1`, [holder, position.toString()]);
      return r.rows.length === 1;
    },
    async release() {
      await sql.query(`UPDATE ${s}.otlp_export SET holder = NULL, lease_until = NULL WHERE id = 1 AND holder = $1`, [holder]);
    },
  };
}
