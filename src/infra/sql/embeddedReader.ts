import { StoreLocked, StoreUnavailable } from '../../errors.js';
import { connectToHolder, queryOnlyClient } from './forwardingClient.js';
import type { SqlClient, SqlResult } from './sqlClient.js';

/** How many times one query follows the store to its next holder before giving up. */
const MAX_REROUTES = 10;
/** How long reaching the store may keep finding holders that close before answering. */
const REACH_MS = 30_000;

/** The hint for an embedded store that cannot be reached (no server here, so not DATABASE_URL). */
export const EMBEDDED_HINT = 'another cadre process holds the embedded store and stopped answering; run the command again once it has exited';

/**
 * A read-only SqlClient on an embedded (PGlite) store that another process held when this one
 * opened it: queries go through the holder (forwardingClient.ts). Holders come and go: a read
 * command that found the folder free holds it only until its own command is done, and then its
 * readers' connections drop mid-query. A query cut off that way (never a statement's own error)
 * is sent again to whoever holds the folder now, and when nobody does, this process takes the
 * folder itself and reads it directly (serving the others in turn).
 *
 * Two parts, because neither alone is enough. The retry is what makes it correct: a query is a
 * read in a READ ONLY transaction, so running it again is safe, and at this level nothing has
 * been printed yet; it also covers a holder that is killed, or that closes while a reader is
 * connecting, which no waiting in the holder can. A brief holder also keeps serving its connected
 * readers until they are done (at most 10 s, pgliteClient.ts), which makes it fast: without that,
 * readers took the folder over one after another, each opening PGlite. Measured on this 2-core
 * machine (load ~4), 8 read commands (status, budget, tree) started 0.3 s apart on one folder:
 * before, 6 of 8 failed with ECONNRESET; retrying alone, all passed but the last ended after up
 * to 20 s; retrying and draining, all passed in 3.6 to 6.5 s.
 *
 * @example
 * const sql = await openEmbeddedReader('/repo/.cadre/db'); // after StoreLocked
 * const { rows } = await sql.query('SELECT count(*) AS n FROM cadre.events');
 */
export async function openEmbeddedReader(folder: string): Promise<SqlClient> {
  let client: Promise<SqlClient> = reach(folder);
  let closed = false;
  return queryOnlyClient(
    async <Row>(text: string, params?: readonly unknown[]): Promise<SqlResult<Row>> => {
      for (let attempt = 0; ; attempt++) {
        const using = client;
        const c = await using;
        try {
          return await c.query<Row>(text, params);
        } catch (err) {
          // Only the forwarding client raises StoreUnavailable: its holder went away.
          if (closed || attempt >= MAX_REROUTES || !(err instanceof StoreUnavailable)) {
            throw err instanceof StoreUnavailable ? new StoreUnavailable(err.message, { cause: err, hint: EMBEDDED_HINT }) : err;
          }
          // Queries in flight together share one new route.
          if (client === using) {
            client = (async () => {
              await c.close().catch(() => undefined);
              return reach(folder);
            })();
          }
        }
      }
    },
    async () => {
      if (closed) return;
      closed = true;
      const c = await client.catch(() => null);
      await c?.close();
    },
  );
}

/** The folder's holder's read socket, or the folder itself when nobody holds it any more. */
async function reach(folder: string): Promise<SqlClient> {
  const deadline = Date.now() + REACH_MS;
  for (;;) {
    try {
      return await connectToHolder(folder);
    } catch (gone) {
      try {
        // Brief: a writer that wants the folder waits for this read instead of being refused.
        return await (await import('./pgliteClient.js')).createPgliteClient({ dataDir: folder, brief: true }); // PGlite only when this process takes the folder
      } catch (err) {
        if (!(err instanceof StoreLocked)) throw err;
        // Held, though its holder would not answer: it is closing (or someone took the folder
        // between the two steps). A lock wait: the holder gives no notice when it has closed.
        if (Date.now() < deadline) {
          await new Promise((r) => setTimeout(r, 100));
          continue;
        }
        throw new StoreUnavailable(`the embedded store ${folder} is held by a process that does not answer: ${gone instanceof Error ? gone.message : String(gone)}`, { cause: gone, hint: EMBEDDED_HINT });
      }
    }
  }
}
