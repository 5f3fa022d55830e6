import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, realpathSync, unlinkSync } from 'node:fs';
import type net from 'node:net';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { StoreLocked, type StoreHolder } from '../../errors.js';
import { RpcConnection, rpcServer, type RpcHandler } from './socketRpc.js';

/**
 * One process owns an embedded (PGlite) store's folder. PGlite is one process's database: two
 * processes that open one folder each keep their own view and the last to close overwrites the
 * other's work. The owner takes this lock before PGlite opens and lets go after it closes.
 *
 * The lock is a listening unix socket named after the folder's real path:
 * - On Linux it is an abstract socket (a name that is not a file). `bind()` is atomic in the
 *   kernel, so of two processes starting at once exactly one binds and the other gets
 *   EADDRINUSE; and the kernel drops the name when the holder dies, even by SIGKILL, so a dead
 *   holder's lock is free the moment it is dead, with no stale file to judge.
 * - Elsewhere (macOS) it is a socket file in the temp folder. A file left by a dead holder refuses
 *   connections; it is then removed and bound again. Two processes taking over the same stale file
 *   in the same instant could both succeed there (there is no atomic takeover of a path): on those
 *   systems prefer DATABASE_URL for several processes.
 * The lock answers who holds it (pid, command, folder) and, once the store is open, where its
 * read-only query socket is; readers use that (see forwardingClient.ts).
 */
export interface StoreFolderLock {
  readonly folder: string;
  /** Serves `handle` on a private socket and tells readers where it is. */
  serveReads(handle: RpcHandler): Promise<void>;
  /**
   * Stops answering readers; the lock stays held. With `drainMs`, first keeps answering until no
   * reader is connected, for at most that long; connections still open then drop (their readers
   * go to the next holder, embeddedReader.ts).
   */
  stopReads(options?: { drainMs?: number }): Promise<void>;
  release(): Promise<void>;
}

/** The folder's real path (links resolved), so two spellings of one folder take one lock. */
function canonical(folder: string): string {
  try {
    return realpathSync(folder);
  } catch {
    return folder;
  }
}

const hashOf = (folder: string): string => createHash('sha256').update(folder).digest('hex').slice(0, 32);

function lockAddress(folder: string): string {
  return process.platform === 'linux' ? `\0cadre-store-${hashOf(folder)}` : join(tmpdir(), `cadre-${hashOf(folder)}.lock`);
}

/**
 * Where readers reach the holder: inside the folder (its permissions guard it) when the path
 * fits a socket address (~104 bytes), else in a private (0700) folder under the temp folder.
 */
function readsAddress(folder: string): string {
  const inside = join(folder, '.holder.sock');
  if (Buffer.byteLength(inside) <= 100) return inside;
  const dir = join(tmpdir(), `cadre-${process.getuid?.() ?? 'user'}`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  return join(dir, `${hashOf(folder)}.sock`);
}

/** This process as a holder: the program and its subcommand (arguments and options, which may carry a task or a secret, left out: any local user can ask). */
function thisCommand(): string {
  const [script, ...args] = process.argv.slice(1);
  // cadre's own CLI, run as `node dist/cli/main.js`, is named as users type it: "main serve" said nothing.
  const cli = /[\\/]cli[\\/]main\.(c|m)?[jt]s$/.test(script ?? '');
  const words = [cli ? 'cadre' : basename(script ?? 'node').replace(/\.(c|m)?[jt]s$/, '')];
  for (const a of args) {
    if (a.startsWith('-') || words.length >= 2) break;
    words.push(a.slice(0, 40));
  }
  return words.join(' ');
}

function listen(server: net.Server, address: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(address, () => {
      server.removeListener('error', reject);
      resolve();
    });
  });
}

const errCode = (err: unknown): string | undefined => (err as { code?: string } | null)?.code;

/** Asks the process holding `folder` who it is; null if nobody holds it. */
export async function holderOf(folder: string): Promise<StoreHolder | null> {
  const conn = await RpcConnection.connect(lockAddress(canonical(folder))).catch(() => null);
  if (!conn) return null;
  try {
    return (await conn.call({ op: 'who' })) as StoreHolder;
  } catch {
    return null;
  } finally {
    conn.close();
  }
}

/** The holder's read-only query socket, once its store is open (waits for that). */
export async function holderReadsAddress(folder: string): Promise<string> {
  const conn = await RpcConnection.connect(lockAddress(canonical(folder)));
  try {
    return (await conn.call({ op: 'reads' })) as string;
  } finally {
    conn.close();
  }
}

export interface AcquireOptions {
  /** This process only reads, for a moment (a read command that found the folder free). */
  readonly brief?: boolean;
  /** How long a writer waits for a brief holder to let go before it is refused (default 30 s). */
  readonly briefWaitMs?: number;
}

/**
 * Takes `folder` for this process, or throws `StoreLocked` naming the holder. A writer that finds
 * a brief holder (a `cadre tree` that happened to open the folder first) waits for it: being
 * refused because a read command ran at the same moment would be a surprise.
 *
 * @example
 * const lock = await acquireStoreFolder('.cadre/db');
 * try { ... open PGlite ... } finally { await lock.release(); }
 */
export async function acquireStoreFolder(folderGiven: string, options: AcquireOptions = {}): Promise<StoreFolderLock> {
  const deadline = Date.now() + (options.briefWaitMs ?? 30_000);
  for (;;) {
    try {
      return await tryAcquire(folderGiven, options.brief === true);
    } catch (err) {
      // pid 0: the holder was closing when asked (the name still bound, nobody answering); try again.
      const waitable = err instanceof StoreLocked && ((err.holder.brief === true && !options.brief) || err.holder.pid === 0) && Date.now() < deadline;
      if (!waitable) throw err;
      // A lock wait, not synchronisation in a test: the holder gives no notice when it closes.
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

async function tryAcquire(folderGiven: string, brief: boolean): Promise<StoreFolderLock> {
  const folder = canonical(folderGiven);
  const me: StoreHolder = { pid: process.pid, command: thisCommand(), folder, ...(brief ? { brief } : {}) };
  let readsAt: string | null = null;
  let ready!: (address: string) => void;
  let failed!: (err: Error) => void;
  const readsReady = new Promise<string>((resolve, reject) => {
    ready = resolve;
    failed = reject;
  });
  readsReady.catch(() => undefined);
  const lock = rpcServer(async (req) => {
    const op = (req as { op?: unknown } | null)?.op;
    if (op === 'who') return me;
    if (op === 'reads') return readsReady;
    throw new Error(`unknown request ${JSON.stringify(op)}`);
  });
  const address = lockAddress(folder);
  try {
    await listen(lock.server, address);
  } catch (err) {
    if (errCode(err) !== 'EADDRINUSE') throw err;
    const holder = await holderOf(folder);
    if (holder) throw new StoreLocked(holder);
    if (process.platform === 'linux') throw new StoreLocked({ pid: 0, command: 'a process that is closing it', folder });
    // A socket file nobody answers on: its holder died (see the note above on this takeover).
    try {
      unlinkSync(address);
    } catch {
      /* already gone */
    }
    await listen(lock.server, address).catch(async (e: unknown) => {
      if (errCode(e) === 'EADDRINUSE') throw new StoreLocked((await holderOf(folder)) ?? { pid: 0, command: 'another process', folder });
      throw e;
    });
  }
  // Readers' connections must not keep this process alive, nor the lock on its own.
  lock.server.unref();
  let reads: ReturnType<typeof rpcServer> | null = null;
  const stopReads = async (options: { drainMs?: number } = {}): Promise<void> => {
    if (reads && options.drainMs) await reads.idle(options.drainMs);
    failed(new Error('the store holder closed'));
    const open = reads;
    reads = null;
    if (open) await open.close();
    if (readsAt) {
      try {
        unlinkSync(readsAt);
      } catch {
        /* gone */
      }
      readsAt = null;
    }
  };
  return {
    folder,
    async serveReads(handle) {
      const at = readsAddress(folder);
      // We hold the lock, so a socket file already there is a dead holder's.
      try {
        unlinkSync(at);
      } catch {
        /* none */
      }
      reads = rpcServer(handle);
      await listen(reads.server, at);
      chmodSync(at, 0o600);
      reads.server.unref();
      readsAt = at;
      ready(at);
    },
    stopReads,
    async release() {
      await stopReads();
      await lock.close();
      if (process.platform !== 'linux') {
        try {
          unlinkSync(address);
        } catch {
          /* gone */
        }
      }
    },
  };
}
