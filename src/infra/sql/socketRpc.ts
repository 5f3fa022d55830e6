import net from 'node:net';
import { decodeWire, encodeWire } from './wireCodec.js';

/** Largest request or reply line; a larger one closes the connection (a reader's rows, bounded). */
const MAX_LINE = 256 * 1024 * 1024;

/**
 * One request per line, one reply per line, on a local socket; values in the wire codec (bigint,
 * Date, bytes survive). The embedded store's holder answers its readers this way.
 */
export type RpcHandler = (request: unknown) => Promise<unknown>;

interface Reply {
  readonly id: number;
  readonly ok: boolean;
  readonly result?: unknown;
  readonly error?: { message: string; code?: string };
}

function onLines(socket: net.Socket, onLine: (line: string) => void): void {
  let buffer = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    buffer += chunk;
    if (buffer.length > MAX_LINE) {
      socket.destroy();
      return;
    }
    for (let nl = buffer.indexOf('\n'); nl >= 0; nl = buffer.indexOf('\n')) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      if (line) onLine(line);
    }
  });
}

/**
 * A server answering each line with `handle`'s result; `idle(ms)` waits (at most `ms`) until no
 * client is connected; `close()` also drops open connections.
 */
export function rpcServer(handle: RpcHandler): { server: net.Server; idle(maxMs: number): Promise<void>; close(): Promise<void> } {
  const sockets = new Set<net.Socket>();
  const idleWaiters = new Set<() => void>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => {
      sockets.delete(socket);
      if (sockets.size === 0) for (const w of idleWaiters) w();
    });
    socket.on('error', () => socket.destroy());
    onLines(socket, (line) => {
      let id = -1;
      void (async () => {
        const req = decodeWire(line) as { id: number; body: unknown };
        id = req.id;
        return handle(req.body);
      })().then(
        (result) => reply(socket, { id, ok: true, result }),
        (err: unknown) => reply(socket, { id, ok: false, error: { message: err instanceof Error ? err.message : String(err), ...(codeOf(err) ? { code: codeOf(err)! } : {}) } }),
      );
    });
  });
  return {
    server,
    idle: (maxMs) => new Promise<void>((resolve) => {
      if (sockets.size === 0) return resolve();
      const done = (): void => {
        clearTimeout(timer);
        idleWaiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, maxMs);
      idleWaiters.add(done);
    }),
    close: () => new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    }),
  };
}

function reply(socket: net.Socket, r: Reply): void {
  if (!socket.destroyed) socket.write(`${encodeWire(r)}\n`);
}

function codeOf(err: unknown): string | undefined {
  const c = typeof err === 'object' && err !== null && 'code' in err ? (err as { code: unknown }).code : undefined;
  return typeof c === 'string' ? c : undefined;
}

/** An error the other side raised, with its SQLSTATE or cadre code when it had one. */
export class RemoteError extends Error {
  constructor(message: string, readonly code: string | undefined) {
    super(message);
    this.name = 'RemoteError';
  }
}

/** A client connection; calls may overlap, replies are matched by id. */
export class RpcConnection {
  private next = 0;
  private readonly waiting = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  private closedWith: Error | null = null;

  private constructor(private readonly socket: net.Socket) {
    onLines(socket, (line) => {
      const r = decodeWire(line) as Reply;
      const w = this.waiting.get(r.id);
      if (!w) return;
      this.waiting.delete(r.id);
      if (r.ok) w.resolve(r.result);
      else w.reject(new RemoteError(r.error?.message ?? 'remote error', r.error?.code));
    });
    const fail = (err: Error): void => {
      this.closedWith ??= err;
      for (const w of this.waiting.values()) w.reject(this.closedWith);
      this.waiting.clear();
    };
    socket.on('error', fail);
    socket.on('close', () => fail(new Error('the connection to the store holder closed')));
  }

  static connect(path: string): Promise<RpcConnection> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(path);
      socket.once('connect', () => {
        socket.removeListener('error', reject);
        resolve(new RpcConnection(socket));
      });
      socket.once('error', reject);
    });
  }

  call(body: unknown): Promise<unknown> {
    if (this.closedWith) return Promise.reject(this.closedWith);
    const id = this.next++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.socket.write(`${encodeWire({ id, body })}\n`);
    });
  }

  close(): void {
    this.socket.destroy();
  }
}
