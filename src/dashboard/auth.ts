import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';


/** Constant-time comparison (hashing first makes the lengths equal). */
export function tokenMatches(given: string | null, expected: string): boolean {
  if (given === null) return false;
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

/** The cookie a browser carries once it has opened the page with `?token=`. */
export const TOKEN_COOKIE = 'cadre_token';

/** `Set-Cookie` for the token: unreadable by scripts, never sent by another site's pages. */
export const tokenCookie = (token: string): string => `${TOKEN_COOKIE}=${encodeURIComponent(token)}; HttpOnly; SameSite=Strict; Path=/`;

function cookieValue(req: IncomingMessage, name: string): string | null {
  const header = req.headers.cookie;
  if (typeof header !== 'string') return null;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) {
      try {
        return decodeURIComponent(part.slice(eq + 1).trim());
      } catch {
        return null;
      }
    }
  }
  return null;
}

/**
 * The token an API request carries: `Authorization: Bearer <token>` (scripts) or the
 * `cadre_token` cookie (a browser, after opening the page once with `?token=`). Never `?token=`
 * on the API: a token in a URL ends up in shell history, proxy logs and Referer headers; the
 * page's one-time `?token=` is traded for the cookie and dropped from the address bar.
 */
export function requestToken(req: IncomingMessage): string | null {
  const auth = req.headers.authorization;
  // The scheme's name is case-insensitive (RFC 9110): `bearer` was refused.
  if (typeof auth === 'string' && /^bearer /i.test(auth)) return auth.slice(7).trim();
  return cookieValue(req, TOKEN_COOKIE);
}
