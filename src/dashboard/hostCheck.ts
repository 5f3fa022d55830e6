import { isLoopbackHost } from '../infra/isLoopbackHost.js';

/** Wildcard binds answer on every interface, so no one Host name is "the" name; the token guards them. */
const isWildcard = (host: string): boolean => host === '0.0.0.0' || host === '::' || host === '';

const bracket = (host: string): string => (host.includes(':') && !host.startsWith('[') ? `[${host}]` : host);

/**
 * The `Host` header values the dashboard answers, or null for "any" (a wildcard bind, which
 * requires a token). On loopback: `127.0.0.1`, `localhost` and `[::1]` with the server's port
 * (and the bound address itself); otherwise the configured host with the port. A page on a
 * rebinding domain (attacker.example resolving to 127.0.0.1) sends its own name and is refused.
 *
 * @example
 * allowedHosts('127.0.0.1', 4600) // Set { '127.0.0.1:4600', 'localhost:4600', '[::1]:4600' }
 */
export function allowedHosts(bindHost: string, port: number): ReadonlySet<string> | null {
  if (isWildcard(bindHost)) return null;
  const names = isLoopbackHost(bindHost) ? ['127.0.0.1', 'localhost', '[::1]', bracket(bindHost)] : [bracket(bindHost)];
  const out = new Set<string>();
  for (const n of names) {
    out.add(`${n.toLowerCase()}:${port}`);
    if (port === 80) out.add(n.toLowerCase()); // a browser leaves the default port out
  }
  return out;
}

/** Whether a request's `Host` header names this server (a missing one never does). */
export function hostAllowed(header: string | undefined, allowed: ReadonlySet<string> | null): boolean {
  if (allowed === null) return true;
  return typeof header === 'string' && allowed.has(header.trim().toLowerCase());
}
