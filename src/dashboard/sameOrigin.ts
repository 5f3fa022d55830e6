import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { tokenMatches } from './auth.js';

/** The header a state-changing request carries its CSRF token in (a custom header also forces a CORS preflight). */
export const CSRF_HEADER = 'x-cadre-csrf';

/** A fresh CSRF token: one per server, handed only to same-origin pages by `GET /api/session`. */
export const newCsrfToken = (): string => randomBytes(24).toString('base64url');

/**
 * Why a state-changing request must be refused, or null when it may go ahead. The rule every
 * action route follows (SECURITY.md): POST only; the Host already checked; when the browser says
 * where the request comes from (`Origin`, `Sec-Fetch-Site`) it must be this origin; and the CSRF
 * token from `GET /api/session` in the `x-cadre-csrf` header, compared in constant time.
 *
 * @example
 * const why = stateChangeRefusal(req, csrf); // 'cross-origin request' | 'missing or wrong CSRF token' | null
 */
export function stateChangeRefusal(req: IncomingMessage, csrf: string): { status: number; message: string } | null {
  if (req.method !== 'POST') return { status: 405, message: 'state-changing routes take POST only' };
  const origin = req.headers.origin;
  if (origin !== undefined && origin !== `http://${req.headers.host ?? ''}`) return { status: 403, message: 'cross-origin request refused' };
  const site = req.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin') return { status: 403, message: 'cross-site request refused' };
  const given = req.headers[CSRF_HEADER];
  if (!tokenMatches(typeof given === 'string' ? given : null, csrf)) return { status: 403, message: 'missing or wrong CSRF token' };
  return null;
}
