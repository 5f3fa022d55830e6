import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type Socket } from 'node:net';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AgentSystem } from '../../src/system.js';
import { startDashboard, type Dashboard } from '../../src/dashboard/server.js';
import { DASHBOARD_LIMITS } from '../../src/dashboard/connectionLimits.js';
import { testSystem } from '../support/system.js';
import { httpRequest } from '../support/httpRequest.js';
import { committedHead } from '../../src/events/committedHead.js';
import { assertStateChangingRoute } from '../support/stateChangingRoute.js';
import { authorized, servedDashboard } from '../support/dashboardAuth.js';

/**
 * The dashboard attacked the way a browser or a local process can: a rebinding page's forged
 * Host, a browser loading the token-protected page, a flood of half-open connections, and
 * cross-site requests against a state-changing route.
 */
const TOKEN = 'a-test-token-of-some-length';
const openFds = (): number => readdirSync('/proc/self/fd').length;

describe('hostile HTTP against the dashboard', () => {
  let system: AgentSystem;
  let open: Dashboard;
  let guarded: Dashboard;
  let agentId: string;
  beforeAll(async () => {
    // On the suite's Postgres (a fresh schema): the store is incidental to what the dashboard's
    // HTTP server answers, and an in-memory PGlite was about a third of this file's time.
    system = await testSystem('postgres', { model: { provider: 'offline', latencyMs: 0 } });
    agentId = (await system.spawn({ role: 'lead', task: 'a secret plan', budget: 1000 })).id;
    open = await startDashboard({ system, port: 0 });
    guarded = await startDashboard({ system, port: 0, token: TOKEN });
  });
  afterAll(async () => {
    await open?.close();
    await guarded?.close();
    await system?.close();
  });

  it('refuses a forged Host (DNS rebinding) with 421 and answers its own names', async () => {
    const p = open.port;
    for (const host of [`attacker.example:${p}`, 'attacker.example', `127.0.0.1.attacker.example:${p}`, `127.0.0.1:${p + 1}`, `localhost:${p}.evil`, `0.0.0.0:${p}`]) {
      for (const path of ['/api/roots', `/api/agents/${agentId}`, '/', '/app.js']) {
        const r = await httpRequest(p, path, { headers: { host } });
        expect(r.status, `Host ${JSON.stringify(host)} ${path}`).toBe(421);
        expect(r.body).not.toContain('secret plan');
      }
    }
    for (const host of [`127.0.0.1:${p}`, `localhost:${p}`, `LOCALHOST:${p}`, `[::1]:${p}`]) {
      const r = await httpRequest(p, `/api/agents/${agentId}`, { headers: { host, ...authorized(open) } });
      expect(r.status, host).toBe(200);
      expect(r.body).toContain('secret plan');
    }
  });

  it('makes a token when none is given: loopback is open to every account of the machine, so no API route answers without it', async () => {
    const p = open.port;
    const host = { host: `127.0.0.1:${p}` };
    expect(open.token.length).toBeGreaterThanOrEqual(32);
    expect(open.token).not.toBe(guarded.token);
    expect(open.openUrl).toBe(`${open.url}#token=${encodeURIComponent(open.token)}`);
    // What a user `nobody` read, and the fork it made on the owner's key (an attacker's try).
    for (const api of ['/api/roots', `/api/agents/${agentId}`, '/api/events', '/api/session']) expect((await httpRequest(p, api, { headers: host })).status, api).toBe(401);
    expect((await httpRequest(p, `/api/agents/${agentId}/fork?atRevision=0`, { method: 'POST', headers: { ...host, origin: `http://${host.host}` } })).status).toBe(401);
    expect((await httpRequest(p, '/api/roots', { headers: { ...host, ...authorized(open) } })).status).toBe(200);
  });

  it('proves it knows the token without the token (an HMAC of the page’s nonce), and only that', async () => {
    const p = guarded.port;
    const host = { host: `127.0.0.1:${p}` };
    const nonce = 'ab'.repeat(16);
    const r = await httpRequest(p, `/api/proof?nonce=${nonce}`, { headers: host });
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toEqual({ proof: createHmac('sha256', TOKEN).update(nonce).digest('hex') });
    expect(r.body).not.toContain(TOKEN);
    for (const bad of ['', '?nonce=short', `?nonce=${'AB'.repeat(16)}`, `?nonce=${nonce}&nonce=${nonce}`, `?nonce=${'a'.repeat(129)}`]) {
      expect((await httpRequest(p, `/api/proof${bad}`, { headers: host })).status, bad).toBe(400);
    }
    expect((await httpRequest(p, `/api/proof?nonce=${nonce}`, { headers: { host: `attacker.example:${p}` } })).status).toBe(421);
  });

  it('refuses to be framed by another site (its approve button one invisible click away)', async () => {
    for (const dash of [open, guarded]) {
      for (const path of ['/', '/index.html']) {
        const r = await httpRequest(dash.port, path, { headers: { host: `127.0.0.1:${dash.port}` } });
        expect(r.status).toBe(200);
        expect(r.headers['x-frame-options']).toBe('DENY');
        expect(String(r.headers['content-security-policy'])).toContain("frame-ancestors 'none'");
      }
    }
  });

  it('refuses a bad ?limit naming it (1.5 reached Postgres: a 500; abc and 0 were ignored, -1 taken)', async () => {
    for (const bad of ['1.5', 'abc', '0', '-1', '101', '1e2']) {
      const r = await httpRequest(open.port, `/api/roots?limit=${bad}`, { headers: { host: `127.0.0.1:${open.port}`, ...authorized(open) } });
      expect(r.status, bad).toBe(400);
      expect(r.body, bad).toContain('invalid limit');
    }
    expect((await httpRequest(open.port, '/api/roots?limit=1', { headers: { host: `127.0.0.1:${open.port}`, ...authorized(open) } })).status).toBe(200);
  });

  it('pages an agent’s ledger by ?limit and says when it shows only the first movements (it cut at 500 silently)', async () => {
    const ran = await system.spawn({ role: 'worker', task: 'count to three', budget: 5000 });
    await ran.run();
    const ledger = async (query: string) => {
      const r = await httpRequest(open.port, `/api/agents/${ran.id}/ledger${query}`, { headers: { host: `127.0.0.1:${open.port}`, ...authorized(open) } });
      return { status: r.status, body: r.body, json: r.status === 200 ? (JSON.parse(r.body) as { rows: { kind: string }[]; truncated: boolean }) : null };
    };
    // The ledger is read from the events, which a reader sees once every older transaction of the
    // server has ended (the xmin rule): another test file's open transaction delays it (a CI run read none).
    await expect.poll(async () => (await ledger('')).json!.rows.length, { timeout: 30_000, interval: 50 }).toBeGreaterThanOrEqual(3);
    const whole = (await ledger('')).json!;
    expect(whole.truncated).toBe(false);
    expect(whole.rows.length).toBeGreaterThanOrEqual(3); // allocated, reserved, settled at least
    expect(whole.rows.map((r) => r.kind)).toEqual(expect.arrayContaining(['allocated', 'reserved', 'settled']));
    const first = (await ledger('?limit=2')).json!;
    expect(first).toMatchObject({ truncated: true, rows: whole.rows.slice(0, 2) });
    expect((await ledger(`?limit=${whole.rows.length}`)).json).toMatchObject({ truncated: false, rows: whole.rows });
    for (const bad of ['0', '-1', 'abc', '1.5', '5001', '1&limit=2']) {
      const r = await ledger(`?limit=${bad}`);
      expect(r.status, bad).toBe(400);
      expect(r.body, bad).toContain('invalid limit');
    }
  });

  it('serves the page and its assets without the token, keeps the data behind it, and takes the token only as a header', async () => {
    const p = guarded.port;
    const host = { host: `127.0.0.1:${p}` };
    for (const asset of ['/', '/index.html', '/app.js', '/events.js', '/style.css']) expect((await httpRequest(p, asset, { headers: host })).status, asset).toBe(200);
    for (const api of ['/api/roots', `/api/agents/${agentId}`, '/api/events', '/api/session']) expect((await httpRequest(p, api, { headers: host })).status, api).toBe(401);
    // The right token in the URL opens no API route (it was taken: a token in URLs lands in logs).
    for (const api of ['/api/roots', `/api/agents/${agentId}`, '/api/session']) expect((await httpRequest(p, `${api}?token=${TOKEN}`, { headers: host })).status, api).toBe(401);
    // Nor does a cookie: browsers send one to every port of the host, so another user's server
    // on 127.0.0.1 received it, and could set one that locked the page out (an attacker's try).
    expect((await httpRequest(p, `/api/agents/${agentId}`, { headers: { ...host, cookie: `cadre_token=${TOKEN}` } })).status).toBe(401);
    // An earlier cadre's address (`/?token=`) moves the token to the fragment, which no server receives, and sets no cookie.
    expect((await httpRequest(p, '/?token=wrong-token-000', { headers: host })).status).toBe(401);
    const opened = await httpRequest(p, `/?token=${TOKEN}&x=1`, { headers: host });
    expect(opened.status).toBe(303);
    expect(opened.headers.location).toBe(`/?x=1#token=${TOKEN}`);
    expect(opened.headers['set-cookie']).toBeUndefined();
    const withHeader = await httpRequest(p, `/api/agents/${agentId}`, { headers: { ...host, authorization: `Bearer ${TOKEN}` } });
    expect(withHeader.status).toBe(200);
    expect(withHeader.body).toContain('secret plan');
  });

  it('keeps answering, with a bounded number of descriptors, under a flood of half-open connections', { timeout: 60_000 }, async () => {
    const p = open.port;
    const flood = 1_500;
    const before = openFds();
    const sockets: Socket[] = [];
    try {
      await Promise.all(Array.from({ length: flood }, (_, i) => new Promise<void>((resolve) => {
        const s = connect(p, '127.0.0.1', () => {
          // Half of them start a request and never finish it; the other half send nothing.
          if (i % 2 === 0) s.write('GET /api/roots HTTP/1.1\r\nHost: 127.0.0.1\r\n');
          resolve();
        });
        s.on('error', () => resolve());
        sockets.push(s);
      })));
      // Accepts are in order: once this request is answered, every flood socket has been accepted.
      const r = await httpRequest(p, `/api/agents/${agentId}`, { headers: { host: `127.0.0.1:${p}`, ...authorized(open) } });
      expect(r.status).toBe(200);
      const held = openFds() - before - sockets.filter((s) => !s.destroyed).length;
      // The server's side of the flood: at most its cap (without it: one descriptor per socket).
      expect(held).toBeLessThanOrEqual(DASHBOARD_LIMITS.maxConnections + 8);
      console.log(`[hostile] dashboard under ${flood} half-open sockets: answered 200, server-side descriptors ${held} (cap ${DASHBOARD_LIMITS.maxConnections})`);
    } finally {
      for (const s of sockets) s.destroy();
    }
    expect((await httpRequest(p, '/api/health', { headers: { host: `127.0.0.1:${p}`, ...authorized(open) } })).status).toBe(200);
  });

  it('holds the rule for state-changing routes on terminate, with a token given and one made', async () => {
    const statusOf = async (id: string): Promise<string> => (await system.internal.runtime.state(id)).status;
    for (const dash of [open, guarded]) {
      const victim = (await system.spawn({ role: 'victim', task: 'stay alive', budget: 100 })).id;
      await assertStateChangingRoute({
        port: dash.port,
        path: `/api/agents/${victim}/terminate`,
        token: dash.token,
        observe: async () => ({ status: await statusOf(victim), head: await committedHead(system.store) }),
        accepted: async (answer) => {
          expect(answer.status, answer.body).toBe(200);
          expect(await statusOf(victim)).toBe('terminated');
        },
      });
    }
  });

  it('holds the rule for state-changing routes on fork, with a token given and one made', async () => {
    const roots = async (): Promise<number> => Number((await system.internal.sql.query<{ n: string }>(`SELECT count(*) AS n FROM ${system.schema}.actor_index WHERE parent_id IS NULL`)).rows[0]!.n);
    for (const dash of [open, guarded]) {
      const source = (await system.spawn({ role: 'source', task: 'to be forked', budget: 100 })).id;
      const history = JSON.stringify(await system.history(source));
      await assertStateChangingRoute({
        port: dash.port,
        path: `/api/agents/${source}/fork?atRevision=0`,
        token: dash.token,
        // A refused fork makes no new root and leaves the source alone.
        observe: async () => ({ roots: await roots(), source: JSON.stringify(await system.history(source)) }),
        accepted: async (answer) => {
          expect(answer.status, answer.body).toBe(200);
          const { ok, id } = JSON.parse(answer.body) as { ok: boolean; id: string };
          expect(ok).toBe(true);
          const opening = (await system.history(id))[0];
          expect(opening?.type === 'AgentSpawned' && opening.data.forkedFrom).toMatchObject({ sourceId: source, sourceRevision: 0 });
          expect(JSON.stringify(await system.history(source))).toBe(history);
        },
      });
    }
  });

  it('refuses a bad fork naming the field (400), and an unknown source with 404', async () => {
    const p = open.port;
    const own = `127.0.0.1:${p}`;
    const csrf = (JSON.parse((await httpRequest(p, '/api/session', { headers: { host: own, ...authorized(open) } })).body) as { csrf: string }).csrf;
    const post = (path: string) => httpRequest(p, path, { method: 'POST', headers: { host: own, origin: `http://${own}`, 'x-cadre-csrf': csrf, ...authorized(open) } });
    const source = (await system.spawn({ role: 'source', task: 'to be forked', budget: 100 })).id;
    // Nothing written: no fork opened, the source untouched. Not the store's head: the forks the
    // test before made run on in this process and write as they go (it moved, 1 run in 8).
    const forks = async (): Promise<number> => Number((await system.internal.sql.query<{ n: string }>(`SELECT count(*) AS n FROM ${system.schema}.events WHERE type = 'AgentSpawned' AND data->'forkedFrom'->>'sourceId' = $1`, [source])).rows[0]!.n);
    const before = JSON.stringify(await system.history(source));
    for (const [query, field] of [
      ['', 'fork.atRevision: required'],
      ['?atRevision=abc', 'fork.atRevision'],
      ['?atRevision=-1', 'fork.atRevision'],
      ['?atRevision=1.5', 'fork.atRevision'],
      ['?atRevision=99', 'fork.atRevision'], // beyond the source's stream
      ['?atRevision=0&budget=0', 'fork.budget'],
      ['?atRevision=0&budget=lots', 'fork.budget'],
      ['?atRevision=0&model=', 'fork.model'],
      ['?atRevision=0&model=a%00b', 'fork.model'],
      ['?atRevision=0&run=1', 'fork: Unrecognized key: "run"'], // a fork runs here anyway
      ['?atRevision=0&under=x', 'fork: Unrecognized key: "under"'], // not a dashboard parameter
    ] as const) {
      const r = await post(`/api/agents/${source}/fork${query}`);
      expect(r.status, `${query}: ${r.body}`).toBe(400);
      expect((JSON.parse(r.body) as { error: string }).error, query).toContain(field);
    }
    expect(await forks()).toBe(0);
    expect(JSON.stringify(await system.history(source))).toBe(before);
    const unknown = await post('/api/agents/00000000-0000-4000-8000-000000000000/fork?atRevision=0');
    expect(unknown.status, unknown.body).toBe(404);
  });

  it('cadre serve warns that --token shows in ps, and refuses a forged Host', { timeout: 120_000 }, async () => {
    await withServe(['--token', TOKEN], /dashboard: http/, async (out, stderr) => {
      expect(stderr()).toMatch(/--token is visible .*CADRE_DASHBOARD_TOKEN/);
      const port = Number(/dashboard: http:\/\/127\.0\.0\.1:(\d+)/.exec(out)![1]);
      const auth = { authorization: `Bearer ${TOKEN}` };
      expect((await httpRequest(port, '/api/roots', { headers: { host: `attacker.example:${port}`, ...auth } })).status).toBe(421);
      expect((await httpRequest(port, '/api/roots', { headers: { host: `127.0.0.1:${port}`, ...auth } })).status).toBe(200);
    });
  });

  it('cadre serve with no token set makes one, prints the address with it, and answers nothing without it', { timeout: 120_000 }, async () => {
    await withServe([], /open that address/, async (out) => {
      const served = servedDashboard(out);
      const port = Number(new URL(served.url).port);
      const host = { host: `127.0.0.1:${port}` };
      expect(served.token.length).toBeGreaterThanOrEqual(32);
      expect((await httpRequest(port, '/api/roots', { headers: host })).status).toBe(401);
      expect((await httpRequest(port, '/api/roots', { headers: { ...host, authorization: `Bearer ${served.token}` } })).status).toBe(200);
    });
  });
});

/** The real `cadre serve --port 0 ...args` on a fresh embedded store, until `ready` is in its output; `check` reads it, then it is stopped. */
async function withServe(args: readonly string[], ready: RegExp, check: (out: string, stderr: () => string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'cadre-serve-'));
  const bin = fileURLToPath(new URL('../../bin/cadre.js', import.meta.url));
  const child = spawn('node', [bin, 'serve', '--port', '0', ...args], { env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', CADRE_DATA_DIR: join(dir, 'db'), NO_COLOR: '1' } });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  try {
    const out = await new Promise<string>((resolve, reject) => {
      let text = '';
      child.stdout.on('data', (d: Buffer) => {
        text += d.toString();
        if (ready.test(text)) resolve(text);
      });
      child.once('exit', (code) => reject(new Error(`serve exited ${code}: ${stderr}`)));
    });
    await check(out, () => stderr);
  } finally {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  }
}
