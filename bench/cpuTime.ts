import { readdirSync, readFileSync } from 'node:fs';

/** CPU this process has used (user + system, every thread), in ms. */
export function processCpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** Clock ticks per second of /proc's times (USER_HZ: 100 on Linux). */
const TICKS_PER_SEC = 100;

/** CPU ticks (user + system) of each PostgreSQL process on this machine, by pid; null where /proc is not readable or none runs. */
export type ServerCpu = ReadonlyMap<string, number> | null;

export function serverCpu(): ServerCpu {
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((p) => /^\d+$/.test(p));
  } catch {
    return null;
  }
  const ticks = new Map<string, number>();
  for (const pid of pids) {
    try {
      if (!readFileSync(`/proc/${pid}/comm`, 'utf8').startsWith('postgres')) continue;
      // Fields after the command's closing parenthesis: utime and stime are the 12th and 13th.
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      ticks.set(pid, Number(fields[11]) + Number(fields[12]));
    } catch {
      // Ended between the listing and the read.
    }
  }
  return ticks.size > 0 ? ticks : null;
}

/**
 * CPU the PostgreSQL server on this machine (the local one, or the embedded one) used since
 * `before`, in ms: the server's share of a run's work. Backends that started since count whole;
 * one that ended meanwhile takes its time with it (an undercount). Null for a remote server.
 * Counts the whole server, other databases' backends included: read it with nothing else running.
 */
export function serverCpuMsSince(before: ServerCpu): number | null {
  const now = serverCpu();
  if (before === null || now === null) return null;
  let ticks = 0;
  for (const [pid, t] of now) ticks += Math.max(0, t - (before.get(pid) ?? 0));
  return (ticks / TICKS_PER_SEC) * 1000;
}
