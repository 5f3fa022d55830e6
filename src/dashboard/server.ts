import { createHmac, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { readFile } from 'node:fs/promises';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AddressInfo } from 'node:net';
import type { AgentSystem } from '../system.js';
import { InvalidInput, isCadreError } from '../errors.js';
import { agentIdOfStream } from '../actors/streams.js';
import { describeRoots, listRoots, resolveAgentId } from './agentTree.js';
import { readAgentTree } from './readAgentTree.js';
import { readTrace } from '../telemetry/readTrace.js';
import { requestToken, tokenMatches } from './auth.js';
import { isLoopbackHost } from '../infra/isLoopbackHost.js';
import { allowedHosts, hostAllowed } from './hostCheck.js';
import { DASHBOARD_LIMITS, limitConnections } from './connectionLimits.js';
import { newCsrfToken, stateChangeRefusal } from './sameOrigin.js';
import type { Redactor } from '../infra/redact.js';
import { stringifyJson } from '../infra/stringifyJson.js';
import { timelineEntry } from './timeline.js';
import { subtreeBalanceAt } from './subtreeBalanceAt.js';
import { activitiesOf } from './activitiesOf.js';
import { answerFromDashboard } from './approvalAction.js';
import { forkFromDashboard } from './forkAction.js';
import { subtreeBalanceLine } from '../cli/render/conservationLine.js';
import { toSafeNumber } from '../events/safeNumber.js';
import { workflowGraph } from './workflowGraph.js';
import { subtreeMoney } from './subtreeMoney.js';
import { agentNode } from './agentNode.js';
import { modelPrompt } from './modelPrompt.js';

export interface DashboardOptions {
  readonly system: AgentSystem;
  /** Default 127.0.0.1. Binding anywhere else requires `token`. */
  readonly host?: string;
  /** Default 4600; 0 picks a free port. */
  readonly port?: number;
  /**
   * What every API request must carry. Default: one made for this server on loopback (bound
   * anywhere else, one must be given). Loopback is not private: every account of the machine can
   * connect to it, and without a token any of them read every prompt and reply and forked agents
   * that ran on the owner's API key (an attacker's try as user nobody).
   */
  readonly token?: string;
}

/** Static files hold no data: the page loads them with relative URLs that carry no token. */
const isStaticPath = (path: string): boolean => !path.startsWith('/api/');

export interface Dashboard {
  readonly url: string;
  readonly port: number;
  /** The token API requests carry (`Authorization: Bearer`): the one given, or the one made. */
  readonly token: string;
  /** `url` with `#token=`: the address a browser opens (the page sends the token; no server sees a fragment). */
  readonly openUrl: string;
  close(): Promise<void>;
}

const TYPES: Record<string, string> = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8', '.svg': 'image/svg+xml' };

/** The page, next to this file: src/dashboard/public, or its copy in dist/ made by the build. */
function publicDir(): string {
  return join(dirname(fileURLToPath(import.meta.url)), 'public');
}

class HttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

function sendJson(res: ServerResponse, status: number, body: unknown, redactor: Redactor): void {
  const text = stringifyJson(redactor.value(body));
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' });
  res.end(text);
}

/**
 * The dashboard: a static page and a JSON API under /api/, with server-sent events from the
 * store's `$all` subscription. Bound to loopback unless a token is given; every API request and
 * the event stream must carry the token (`Authorization: Bearer`; the page reads it from the
 * address's `#token=`), one made for this server when none is given.
 * Every request must name this server in `Host` (421 otherwise: DNS rebinding). State-changing
 * routes follow `stateChangeRefusal`'s rule (POST, same origin, CSRF token).
 *
 * @example
 * const dash = await startDashboard({ system, port: 0 });
 * console.log(dash.openUrl); // http://127.0.0.1:54321/#token=… (the address to open)
 * await dash.close();
 */
/** A URL path segment, decoded; a malformed escape (`%zz`) is the client's error, not ours. */
function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new HttpError(400, `malformed path segment ${JSON.stringify(segment.slice(0, 80))}`);
  }
}

export async function startDashboard(options: DashboardOptions): Promise<Dashboard> {
  const { system } = options;
  const host = options.host ?? '127.0.0.1';
  if (!isLoopbackHost(host) && !options.token) throw new InvalidInput('token', `binding to ${host} exposes the dashboard beyond this machine; set CADRE_DASHBOARD_TOKEN (or --token, which every user sees in ps)`);
  const token = options.token ?? randomBytes(24).toString('base64url');
  checkDashboardToken(token, 'token');
  const root = publicDir();
  const csrf = newCsrfToken();
  // The system's redactor knows the configured secrets; the token joins them (logs included).
  const redactor = system.redactor;
  redactor.addSecret(token);
  const send = (res: ServerResponse, status: number, body: unknown): void => sendJson(res, status, body, redactor);
  const streams = new Set<ServerResponse>();
  const subscription = system.store.subscribeToAll({ fromPosition: await system.store.headPosition(), streamPrefixes: ['agent-'] });
  let closed = false;

  // One subscription feeds every open page: a compact notice per event; pages fetch what they show.
  const pump = (async () => {
    try {
      for await (const e of subscription) {
        const notice = `event: agent\ndata: ${JSON.stringify({ agentId: agentIdOfStream(e.streamId), type: e.type, revision: toSafeNumber(e.revision, 'revision'), position: toSafeNumber(e.position, 'position') })}\n\n`;
        for (const res of streams) res.write(notice);
      }
    } catch (err) {
      if (!closed) system.logger.error({ err }, 'dashboard: subscription ended');
    }
  })();

  const agentIdParam = async (raw: string): Promise<string> => {
    if (!/^[A-Za-z0-9][A-Za-z0-9._:-]{0,199}$/.test(raw)) throw new HttpError(400, 'invalid agent id');
    return resolveAgentId(system, raw);
  };

  const api = async (path: string, url: URL, req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const parts = path.split('/').filter(Boolean).map(decodeSegment); // ['api', ...]
    if (parts[1] === 'events' && parts.length === 2) {
      if (streams.size >= DASHBOARD_LIMITS.maxEventStreams) throw new HttpError(503, 'too many open event streams');
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive', 'x-accel-buffering': 'no' });
      res.write(`retry: 1000\nevent: hello\ndata: ${JSON.stringify({ position: toSafeNumber(await system.store.headPosition(), 'position') })}\n\n`);
      streams.add(res);
      const ping = setInterval(() => res.write(': ping\n\n'), 15_000);
      req.on('close', () => {
        clearInterval(ping);
        streams.delete(res);
      });
      return;
    }
    if (parts[1] === 'session' && parts.length === 2) return send(res, 200, { csrf });
    if (parts[1] === 'health') return send(res, 200, { ok: true, store: system.store.kind, head: toSafeNumber(await system.store.headPosition(), 'head'), live: system.internal.runtime.hosted });
    if (parts[1] === 'roots') {
      return send(res, 200, await describeRoots(system, await listRoots(system, limitParam(url, 20, 100))));
    }
    // ?sketch=1: the read model's rows alone (one query), for the page's first paint of a big tree.
    if (parts[1] === 'tree' && parts[2]) return send(res, 200, await readAgentTree(system, await agentIdParam(parts[2]), { sketch: url.searchParams.get('sketch') === '1' }));
    if (parts[1] === 'workflows' && parts[2] && parts[3] === 'graph' && parts.length === 4) return send(res, 200, await workflowGraph(system, await agentIdParam(parts[2])));
    if (parts[1] === 'money' && parts[2] && parts.length === 3) return send(res, 200, await subtreeMoney(system, await agentIdParam(parts[2])));
    if (parts[1] === 'trace' && parts[2] && parts.length === 3) {
      // The waterfall's spans (src/telemetry); ?upTo=<position> as the run was then.
      const upTo = url.searchParams.get('upTo');
      if (upTo !== null && !/^\d{1,15}$/.test(upTo)) throw new HttpError(400, `invalid upTo ${JSON.stringify(upTo.slice(0, 20))}: expected a global position (a whole number)`);
      return send(res, 200, await readTrace(system, await agentIdParam(parts[2]), upTo === null ? {} : { upTo: Number(upTo) }));
    }
    if (parts[1] === 'approvals' && parts.length === 2) return send(res, 200, { items: await system.reports.approvals({ limit: 200 }) });
    if (parts[1] === 'dead-letters') {
      return send(res, 200, { items: await system.messaging.deadLetters({ limit: 100 }) });
    }
    if (parts[1] === 'agents' && parts[2]) {
      const id = await agentIdParam(parts[2]);
      const sub = parts[3];
      const answering = sub === 'approvals' && parts.length === 6;
      const forking = sub === 'fork' && parts.length === 4;
      if (req.method === 'POST') {
        if (!(sub === 'terminate' && parts.length === 4) && !answering && !forking) throw new HttpError(405, 'no such action');
        const refused = stateChangeRefusal(req, csrf);
        if (refused) throw new HttpError(refused.status, refused.message);
        // A new agent: the answer names it (the source is only read).
        if (forking) return send(res, 200, { ok: true, ...(await forkFromDashboard(system, id, url.searchParams)) });
        if (answering) await answerFromDashboard(system, id, parts[4]!, parts[5]!, url.searchParams.get('reason'));
        else await system.terminate(id, 'terminated from the dashboard');
        return send(res, 200, { ok: true, state: await system.internal.runtime.state(id) });
      }
      if (sub === 'terminate' || answering || forking) throw new HttpError(405, 'state-changing routes take POST only');
      if (!sub) {
        const state = await system.internal.runtime.state(id);
        // What it is doing now, in the live tree's words (`calling model`…); null once ended.
        return send(res, 200, { ...state, activity: (await activitiesOf(system, [id])).get(id) ?? null });
      }
      if (sub === 'events') return send(res, 200, (await system.history(id)).map(timelineEntry));
      // One row of the tree view: what the page fetches for an event instead of the whole tree.
      if (sub === 'row') return send(res, 200, await agentNode(system, id));
      // A model call's whole request (prompt, messages, tools), fetched when a person opens it.
      if (sub === 'prompt' && parts[4] && parts.length === 5) return send(res, 200, await modelPrompt(system, id, parts[4]));
      if (sub === 'replay') {
        const to = url.searchParams.get('to');
        if (to === null) throw new HttpError(400, 'give ?to=<revision>');
        // A `to` that is there but no revision said "give ?to=" as if it were missing (a new user's try).
        if (!/^\d+$/.test(to)) throw new HttpError(400, `?to must be a revision: a whole number written in digits, 0 or more (got ${JSON.stringify(to.slice(0, 40))})`);
        // The agent as it was, and its subtree's balance then, in `cadre budget --subtree`'s words.
        const past = await subtreeBalanceAt(system, id, Number(to), { field: 'to' });
        return send(res, 200, { ...past.state, subtree: { ...past.subtree, line: subtreeBalanceLine(past.subtree) } });
      }
      if (sub === 'ledger') {
        // One movement more than asked for tells the page there are more than it shows.
        const limit = limitParam(url, 500, 5_000);
        const rows = await system.reports.ledger(id, { limit: limit + 1 });
        return send(res, 200, { source: 'events', rows: rows.slice(0, limit), truncated: rows.length > limit });
      }
    }
    throw new HttpError(404, `no such endpoint ${path}`);
  };

  const serveStatic = async (path: string, res: ServerResponse): Promise<void> => {
    const name = path === '/' ? 'index.html' : path.slice(1);
    if (!/^[a-z0-9-]+\.(html|js|css|svg)$/.test(name)) throw new HttpError(404, 'not found');
    const body = await readFile(join(root, name)).catch(() => null);
    if (!body) throw new HttpError(404, 'not found');
    res.writeHead(200, {
      'content-type': TYPES[extname(name)] ?? 'application/octet-stream',
      'cache-control': 'no-cache',
      'x-content-type-options': 'nosniff',
      // Never in another site's frame: its buttons (approve, fork) were one click away from a
      // page the user visited that framed the dashboard invisibly (an attacker's try).
      'content-security-policy': "default-src 'self'; style-src 'self'; script-src 'self'; img-src 'self' data:; frame-ancestors 'none'",
      'x-frame-options': 'DENY',
    });
    res.end(body);
  };

  let hosts: ReadonlySet<string> | null = new Set();
  // terminate, fork, and an answer to a parked call (approvals/<call>/approve|deny).
  const isAction = (req: IncomingMessage, url: URL): boolean => req.method === 'POST' && /^\/api\/agents\/[^/]+\/(?:[^/]+|approvals\/[^/]+\/[^/]+)$/.test(url.pathname);
  const server = createServer({ connectionsCheckingInterval: 1_000 }, (req, res) => {
    const url = new URL(req.url ?? '/', 'http://dashboard.local');
    void (async () => {
      try {
        if (!hostAllowed(req.headers.host, hosts)) throw new HttpError(421, 'this server does not answer for that Host');
        if (req.method !== 'GET' && req.method !== 'HEAD' && !isAction(req, url)) throw new HttpError(405, 'GET only, except the action routes (POST)');
        if (hasBody(req)) {
          // Nothing here reads a body: refused before any of it is read, and the connection closed
          // instead of drained (an action ran while a 200 MB body was still arriving).
          res.setHeader('connection', 'close');
          throw new HttpError(413, 'requests here take no body: an action reads its options from the query (?atRevision=…)');
        }
        if (isStaticPath(url.pathname) && url.searchParams.has('token')) {
          // An address of an earlier cadre (`?token=`): the token moves to the fragment, which the
          // page reads and no server receives (auth.ts).
          if (!tokenMatches(url.searchParams.get('token'), token)) throw new HttpError(401, 'wrong token');
          url.searchParams.delete('token');
          res.writeHead(303, { location: `${url.pathname}${url.search}#token=${encodeURIComponent(token)}`, 'cache-control': 'no-store' });
          res.end();
          return;
        }
        if (url.pathname === '/api/proof') return send(res, 200, { proof: tokenProof(token, url) });
        if (!isStaticPath(url.pathname) && !tokenMatches(requestToken(req), token)) throw new HttpError(401, 'missing or wrong token');
        if (url.pathname.startsWith('/api/')) await api(url.pathname, url, req, res);
        else await serveStatic(url.pathname, res);
      } catch (err) {
        const status = err instanceof HttpError ? err.status : isCadreError(err) ? (err.code === 'NOT_FOUND' ? 404 : err.code === 'INVALID_INPUT' ? 400 : 500) : 500;
        if (status === 500) system.logger.error({ err, path: url.pathname }, 'dashboard request failed');
        if (!res.headersSent) send(res, status, { error: err instanceof Error ? err.message : String(err) });
        else res.end();
      }
    })();
  });

  // `Expect: 100-continue` went to Node's own handler, which answered "100 Continue" (inviting the
  // body) before the 413 (a hostile-HTTP try): such a request goes to the handler like any other.
  server.on('checkContinue', (req, res) => server.emit('request', req, res));
  limitConnections(server);
  const wanted = options.port ?? 4600;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      // Node's own words ("listen EADDRINUSE: address already in use") named no way out.
      if (err.code === 'EADDRINUSE') reject(new InvalidInput('port', `${host}:${wanted} is in use (another cadre serve?): pass another --port, or --port 0 for a free one`));
      else if (err.code === 'EACCES') reject(new InvalidInput('port', `${host}:${wanted} needs privileges to listen on: pass a port above 1023`));
      else reject(err);
    });
    server.listen(wanted, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  hosts = allowedHosts(host, port);
  const shownHost = host.includes(':') ? `[${host}]` : host;
  const url = `http://${shownHost}:${port}/`;
  return {
    url,
    port,
    token,
    openUrl: `${url}#token=${encodeURIComponent(token)}`,
    async close() {
      closed = true;
      for (const res of streams) res.end();
      streams.clear();
      await subscription.close();
      await pump;
      await new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
    },
  };
}

/**
 * The server's proof that it knows the token, asked for by the page before it sends the token
 * (after any drop): HMAC-SHA256 of the page's random `?nonce=` (32 to 128 hex digits) keyed by the
 * token. Once `cadre serve` stopped, the open page sent its token every second to whatever bound
 * the port next, another user's program included (an attacker's try); such a program cannot
 * answer this. It tells nothing of the token: a fresh nonce each time, and HMAC is one-way.
 */
function tokenProof(token: string, url: URL): string {
  const nonce = url.searchParams.get('nonce') ?? '';
  if (url.searchParams.getAll('nonce').length !== 1 || !/^[0-9a-f]{32,128}$/.test(nonce)) throw new HttpError(400, 'invalid nonce: 32 to 128 lowercase hex digits, once');
  return createHmac('sha256', token).update(nonce).digest('hex');
}

/**
 * The dashboard's rule for a token, named as the caller was given it (`cadre serve` says
 * `--token` or `CADRE_DASHBOARD_TOKEN`: "invalid token" named neither, a new user's try).
 */
export function checkDashboardToken(token: string, setting: string): void {
  if (token.length < 8) throw new InvalidInput(setting, 'must be at least 8 characters (for example: openssl rand -hex 16)');
}

/** A request announcing a body (Content-Length above 0, or a chunked one). */
function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

/** `?limit=`: a whole number from 1 to `max`, `fallback` when absent, else a 400 naming it ('1.5' reached Postgres as a bigint: a 500). */
function limitParam(url: URL, fallback: number, max: number): number {
  // Given twice, neither is taken silently.
  if (url.searchParams.getAll('limit').length > 1) throw new HttpError(400, 'invalid limit: given more than once');
  const raw = url.searchParams.get('limit');
  if (raw === null) return fallback;
  if (/^[0-9]{1,6}$/.test(raw) && Number(raw) >= 1 && Number(raw) <= max) return Number(raw);
  throw new HttpError(400, `invalid limit ${JSON.stringify(raw.slice(0, 20))}: expected a whole number from 1 to ${max}`);
}
