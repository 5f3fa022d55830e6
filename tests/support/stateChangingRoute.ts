import { connect } from 'node:net';
import { expect } from 'vitest';
import { httpRequest, type HttpAnswer } from './httpRequest.js';

export interface StateChangingRoute {
  readonly port: number;
  /** e.g. `/api/agents/<id>/terminate` */
  readonly path: string;
  /** The dashboard's token, when it has one (sent as a Bearer header on every attempt). */
  readonly token?: string;
  /** What the route changes, read before and after each refused attempt: must not move. */
  readonly observe: () => Promise<unknown>;
  /** Checks the accepted request's answer and its effect. */
  readonly accepted: (answer: HttpAnswer) => Promise<void>;
}

/**
 * The rule every state-changing dashboard route follows (SECURITY.md, "Dashboard actions"),
 * checked over HTTP: GET, PUT and DELETE refused; POST refused without the token (when there is
 * one), with a foreign Host (421), from a foreign Origin or a cross-site fetch, without or with a
 * wrong CSRF token; nothing changes on any refusal; and the proper request (POST, own Host and
 * Origin, the CSRF token from `GET /api/session`) is accepted. Later routes (approve, deny, fork)
 * call this with their own path and effect.
 *
 * @example
 * await assertStateChangingRoute({ port, path: `/api/agents/${id}/terminate`, observe: () => statusOf(id), accepted: async (a) => expect(a.status).toBe(200) });
 */
export async function assertStateChangingRoute(route: StateChangingRoute): Promise<void> {
  const own = `127.0.0.1:${route.port}`;
  const auth: Record<string, string> = route.token ? { authorization: `Bearer ${route.token}` } : {};
  const session = await httpRequest(route.port, '/api/session', { headers: { host: own, ...auth } });
  expect(session.status, session.body).toBe(200);
  const csrf = (JSON.parse(session.body) as { csrf: string }).csrf;
  expect(csrf.length).toBeGreaterThanOrEqual(16);
  const proper = { host: own, origin: `http://${own}`, 'sec-fetch-site': 'same-origin', 'x-cadre-csrf': csrf, ...auth };
  const attempts: { name: string; method: string; headers: Record<string, string>; status: number }[] = [
    { name: 'GET', method: 'GET', headers: proper, status: 405 },
    { name: 'PUT', method: 'PUT', headers: proper, status: 405 },
    { name: 'DELETE', method: 'DELETE', headers: proper, status: 405 },
    { name: 'foreign Host', method: 'POST', headers: { ...proper, host: `attacker.example:${route.port}`, origin: `http://attacker.example:${route.port}` }, status: 421 },
    { name: 'foreign Host, own Origin', method: 'POST', headers: { ...proper, host: `attacker.example:${route.port}` }, status: 421 },
    { name: 'foreign Origin', method: 'POST', headers: { ...proper, origin: 'http://attacker.example' }, status: 403 },
    { name: 'null Origin', method: 'POST', headers: { ...proper, origin: 'null' }, status: 403 },
    { name: 'cross-site fetch', method: 'POST', headers: { ...proper, 'sec-fetch-site': 'cross-site' }, status: 403 },
    { name: 'same-site fetch', method: 'POST', headers: { ...proper, 'sec-fetch-site': 'same-site' }, status: 403 },
    { name: 'no CSRF token', method: 'POST', headers: Object.fromEntries(Object.entries(proper).filter(([k]) => k !== 'x-cadre-csrf')), status: 403 },
    { name: 'wrong CSRF token', method: 'POST', headers: { ...proper, 'x-cadre-csrf': `${csrf.slice(0, -1)}${csrf.endsWith('x') ? 'y' : 'x'}` }, status: 403 },
    { name: 'empty CSRF token', method: 'POST', headers: { ...proper, 'x-cadre-csrf': '' }, status: 403 },
  ];
  if (route.token) {
    const noAuth = Object.fromEntries(Object.entries(proper).filter(([k]) => k !== 'authorization'));
    attempts.push({ name: 'no token', method: 'POST', headers: noAuth, status: 401 }, { name: 'wrong token', method: 'POST', headers: { ...noAuth, authorization: 'Bearer wrong-token-000' }, status: 401 });
  }
  for (const a of attempts) {
    const before = await route.observe();
    const r = await httpRequest(route.port, route.path, { method: a.method, headers: a.headers });
    expect(r.status, `${a.name}: ${r.body.slice(0, 200)}`).toBe(a.status);
    expect(await route.observe(), `${a.name} changed state`).toEqual(before);
  }
  // A body, which no action reads: refused at once, before the body has arrived (a fork was made
  // while a 200 MB body was still being sent), and the connection closed rather than drained.
  const before = await route.observe();
  const refusedBody = await postHeadOfHugeBody(route.port, route.path, proper);
  expect(refusedBody, refusedBody).toMatch(/^HTTP\/1\.1 413 [\s\S]*connection: close[\s\S]*take no body/i);
  expect(await route.observe(), 'a request with a body changed state').toEqual(before);
  // Asking first (Expect: 100-continue) is not invited to send it.
  const asked = await postHeadOfHugeBody(route.port, route.path, { ...proper, expect: '100-continue' }, false);
  expect(asked, asked).toMatch(/^HTTP\/1\.1 413 /);
  expect(await route.observe(), 'a request announcing a body changed state').toEqual(before);
  await route.accepted(await httpRequest(route.port, route.path, { method: 'POST', headers: proper }));
}

/** POSTs headers announcing 200 MB and sends 64 kB of it (or none); the answer as text once the server closes. */
function postHeadOfHugeBody(port: number, path: string, headers: Record<string, string>, sendSome = true): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let answer = '';
    const timer = setTimeout(() => socket.destroy(new Error(`no answer within 5 s: ${answer.slice(0, 200)}`)), 5_000);
    socket.on('data', (d: Buffer) => (answer += d.toString()));
    socket.on('close', () => (clearTimeout(timer), resolve(answer)));
    socket.on('error', (err) => (clearTimeout(timer), answer ? resolve(answer) : reject(err)));
    const head = Object.entries({ ...headers, 'content-type': 'application/json', 'content-length': String(200 * 1024 * 1024) }).map(([k, v]) => `${k}: ${v}`).join('\r\n');
    socket.write(`POST ${path} HTTP/1.1\r\n${head}\r\n\r\n`);
    if (sendSome) socket.write(Buffer.alloc(64 * 1024, 0x20));
  });
}
