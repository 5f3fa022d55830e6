import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/** Constant-time comparison (hashing first makes the lengths equal). */
export function tokenMatches(given: string | null, expected: string): boolean {
  if (given === null) return false;
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

/**
 * The token an API request carries: `Authorization: Bearer <token>`, from scripts and from the
 * page (which reads it from the address's `#token=`, a fragment no server ever receives, and
 * keeps it in its own origin's sessionStorage). Never `?token=` on the API: a token in a URL ends
 * up in shell history, proxy logs and Referer headers. Never a cookie: browsers send cookies to
 * every port of a host, so a page another user served on 127.0.0.1:43101 received the token's
 * cookie set by 127.0.0.1:43100, and could set one that locked the page out (an attacker's try).
 */
export function requestToken(req: IncomingMessage): string | null {
  const auth = req.headers.authorization;
  // The scheme's name is case-insensitive (RFC 9110): `bearer` was refused.
  if (typeof auth === 'string' && /^bearer /i.test(auth)) return auth.slice(7).trim();
  return null;
}
