import type pg from 'pg';

/**
 * Terminates the connections named `app` to database `db` (never the caller's own) and returns
 * how many were really terminated: pg_terminate_backend answers false for a backend that was
 * already gone, and such a row is not a fault that happened.
 */
export async function terminateBackends(admin: pg.Client, db: string, app: string): Promise<number> {
  const r = await admin.query<{ n: number }>(
    `SELECT count(*) FILTER (WHERE pg_terminate_backend(pid))::int AS n FROM pg_stat_activity WHERE datname = $1 AND application_name = $2 AND pid <> pg_backend_pid()`,
    [db, app],
  );
  return r.rows[0]!.n;
}
