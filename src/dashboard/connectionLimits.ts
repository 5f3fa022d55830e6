import type { Server } from 'node:http';
import type { Socket } from 'node:net';

/** The dashboard's limits; SECURITY.md quotes these numbers. */
export const DASHBOARD_LIMITS = {
  /** Open connections at most (event streams included); a file descriptor each. */
  maxConnections: 128,
  /** Live event streams at most; more are refused with 503. */
  maxEventStreams: 32,
  /** A request's headers must arrive within this. */
  headersTimeoutMs: 10_000,
  /** A whole request (headers and body) must arrive within this. */
  requestTimeoutMs: 30_000,
  /** An idle keep-alive connection is closed after this. */
  keepAliveTimeoutMs: 5_000,
  /** Requests served on one connection before it is closed. */
  maxRequestsPerSocket: 1_000,
} as const;

/**
 * Bounds what connections can hold. Node's own `maxConnections` drops the *newest* connection at
 * the cap, so a flood of half-open sockets would lock every real client out until the header
 * timeout; instead, at the cap a new connection evicts the oldest one that is idle (has sent no
 * request yet, or sits between keep-alive requests). Only when every connection is busy serving
 * a request is the new one refused. Sockets that send nothing are also ended by the header
 * timeout, checked every second.
 */
export function limitConnections(server: Server, limits: typeof DASHBOARD_LIMITS = DASHBOARD_LIMITS): void {
  server.headersTimeout = limits.headersTimeoutMs;
  server.requestTimeout = limits.requestTimeoutMs;
  server.keepAliveTimeout = limits.keepAliveTimeoutMs;
  server.maxRequestsPerSocket = limits.maxRequestsPerSocket;
  const open = new Set<Socket>();
  // Insertion order is age: the first idle socket is the one idle longest.
  const idle = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    if (open.size >= limits.maxConnections) {
      const oldest = idle.values().next();
      if (oldest.done) {
        socket.destroy();
        return;
      }
      oldest.value.destroy();
      idle.delete(oldest.value);
      open.delete(oldest.value);
    }
    open.add(socket);
    idle.add(socket);
    socket.once('close', () => {
      open.delete(socket);
      idle.delete(socket);
    });
  });
  server.on('request', (req, res) => {
    const socket = req.socket;
    idle.delete(socket);
    res.once('finish', () => {
      if (open.has(socket) && !socket.destroyed) idle.add(socket);
    });
  });
}
