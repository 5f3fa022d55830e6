import { createHash, randomUUID } from 'node:crypto';
import { hostname } from 'node:os';

/**
 * Ids: random uuids, plus derived ones (a uuid-shaped hash of a namespace and a name) for
 * things that must get the same id when retried after a crash, like a child spawned by a
 * given tool call.
 */
export const systemIds = {
  uuid: (): string => randomUUID(),
  derive(namespace: string, name: string): string {
    const h = createHash('sha256').update(`${namespace}\u0000${name}`).digest('hex');
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${((parseInt(h[16]!, 16) & 0x3) | 0x8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
  },
};

export const systemClock = { now: (): Date => new Date() };

/** A name no other process shares, for the leases this process holds: host:pid:random. */
export const processOwnerName = (): string => `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;

/**
 * Whether `owner` (a processOwnerName) names a process of this machine that no longer runs. Only
 * ever true for this host's own pids, so an owner elsewhere — or a pid taken again since — is
 * never mistaken for dead: its leases simply lapse.
 */
export function isDeadLocalOwner(owner: string): boolean {
  const m = /^(.*):(\d+):[0-9a-f]{8}$/.exec(owner);
  if (!m || m[1] !== hostname() || Number(m[2]) === process.pid) return false;
  try {
    process.kill(Number(m[2]), 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}
