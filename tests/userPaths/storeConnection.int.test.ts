import { createServer } from 'node:net';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCadre } from '../support/cadreCli.js';
import { testPgUrl } from '../support/testDb.js';

/**
 * A new user's first contact with a store through the real bin: a DATABASE_URL that is wrong in
 * each of the usual ways, and a read command in a folder with no store yet. Each error names the
 * setting and comes with a hint (docs/cli.md), and never shows a password.
 */
const scratch = mkdtempSync(join(tmpdir(), 'cadre-storeconn-'));

function env(extra: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const e: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', LOG_LEVEL: 'error', ...extra };
  for (const k of ['DATABASE_URL', 'EVENT_STORE', 'ANTHROPIC_API_KEY', 'CADRE_DATA_DIR']) if (!(k in extra)) delete e[k];
  return e;
}

/** A local port nobody listens on (taken, then let go). */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

describe('connecting to the store, as a new user meets it', () => {
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it('a CADRE_DATA_DIR that cannot be a folder, and a misspelt sslmode, are refused naming the setting (they printed "[object Object]", a bare EEXIST, and "The server does not support SSL connections")', async () => {
    const file = join(scratch, 'a-file');
    writeFileSync(file, '');
    for (const dir of ['/proc/self', '/proc/self/db', '/dev/null', file]) {
      const r = await runCadre(['spawn', '--role', 'r', '--task', 't', '--budget', '1'], env({ CADRE_DATA_DIR: dir }), { cwd: scratch });
      expect(r.code, dir).toBe(2);
      expect(r.stderr, dir).toMatch(/^cadre: invalid configuration CADRE_DATA_DIR: cannot keep the embedded store in ".+": .+; it must be a folder cadre can create and write/);
      expect(r.stderr, dir).not.toContain('[object Object]');
    }
    // A read under a file said "no store yet: commands that write create it", which they could not.
    for (const dir of [join(file, '.cadre'), join(file, 'deeper', 'db')]) {
      const r = await runCadre(['tree'], env({ CADRE_DATA_DIR: dir }), { cwd: scratch });
      expect(r.code, dir).toBe(2);
      expect(r.stderr, dir).toContain(`cadre: invalid configuration CADRE_DATA_DIR: cannot keep the embedded store in ${JSON.stringify(dir)}: ENOTDIR: ${file} is a file, not a folder`);
    }
    const ssl = await runCadre(['tree'], env({ DATABASE_URL: 'postgres://u@127.0.0.1:5432/d?sslmode=bogus' }), { cwd: scratch });
    expect(ssl.code).toBe(2);
    expect(ssl.stderr).toMatch(/^cadre: invalid configuration DATABASE_URL: sslmode must be one of/);
    const templates = await runCadre(['templates', 'list'], env({ CADRE_TEMPLATES_DIR: join(scratch, 'no-such-folder') }), { cwd: scratch });
    expect(templates.code).not.toBe(0);
    expect(templates.stderr).toMatch(/CADRE_TEMPLATES_DIR: no templates folder/);
    // Refused before the store opens: a command that opens one exited (it hung with the store's connections open).
    const spawned = await runCadre(['spawn', '--role', 'r', '--task', 't', '--budget', '20000'], env({ CADRE_TEMPLATES_DIR: join(scratch, 'no-such-folder'), CADRE_DATA_DIR: join(scratch, 'db-t') }), { cwd: scratch });
    expect(spawned.code).toBe(2);
    expect(spawned.stderr).toMatch(/CADRE_TEMPLATES_DIR: no templates folder/);
  }, 120_000);

  it('a DATABASE_URL that is not a URL is refused naming DATABASE_URL (it was a DNS error about a host "base")', async () => {
    const r = await runCadre(['tree'], env({ DATABASE_URL: 'not-a-url' }), { cwd: scratch });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^cadre: invalid configuration DATABASE_URL: expected a Postgres URL/);
    expect(r.stderr).toMatch(/\n {2}hint: /);
    expect(r.stderr).not.toMatch(/ENOTFOUND|getaddrinfo|base/);
  }, 60_000);

  it('nobody listening: says where, from which setting and why, with a hint; the password is never shown', async () => {
    const port = await closedPort();
    const r = await runCadre(['tree'], env({ DATABASE_URL: `postgres://bob:s3cret-pass-42@127.0.0.1:${port}/nope` }), { cwd: scratch });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`cadre: cannot connect to Postgres at 127.0.0.1:${port} (DATABASE_URL): connection refused`);
    expect(r.stderr).toContain(`hint: is Postgres running at 127.0.0.1:${port}? check DATABASE_URL`);
    expect(r.stderr).not.toContain('s3cret-pass-42');
    expect(r.stderr).not.toContain('ECONNREFUSED');
  }, 60_000);

  it('a host that does not resolve is named as such', async () => {
    const r = await runCadre(['status', 'abcd1234'], env({ DATABASE_URL: 'postgres://bob:s3cret-pass-42@no-such-host.invalid:5432/cadre' }), { cwd: scratch });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('cadre: cannot connect to Postgres at no-such-host.invalid:5432 (DATABASE_URL): host not found');
    expect(r.stderr).toMatch(/hint: .*check DATABASE_URL/);
    expect(r.stderr).not.toContain('s3cret-pass-42');
  }, 60_000);

  it('an unreachable KurrentDB (EVENT_STORE) gets a hint about KurrentDB and EVENT_STORE', async () => {
    // The test server the global setup gives every file (DATABASE_URL's, or the embedded Postgres
    // it started without one): read from the environment, this failed whenever none was set.
    const url = testPgUrl();
    const port = await closedPort();
    const r = await runCadre(['tree'], env({ DATABASE_URL: url, EVENT_STORE: `kurrentdb://admin:changeit-99@127.0.0.1:${port}?tls=false` }), { cwd: scratch });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/KurrentDB is unavailable/);
    expect(r.stderr).toMatch(/hint: is KurrentDB running and reachable\? check its connection string \(EVENT_STORE\)/);
    expect(r.stderr).not.toContain('changeit-99');
  }, 60_000);
});

describe('a read command where there is no store yet', () => {
  const folder = mkdtempSync(join(tmpdir(), 'cadre-nostore-'));
  afterAll(() => rmSync(folder, { recursive: true, force: true }));
  // The user's own repository: no CADRE_DATA_DIR, so the store would be ./.cadre/db.
  const read = (...args: string[]) => runCadre(args, env({}), { cwd: folder });

  it('tree, report, projections status and workspaces list list nothing and say where the store would be, exit 0; status is a clear not found, exit 3; neither creates .cadre', async () => {
    const tree = await read('tree');
    expect(tree.code, tree.stderr).toBe(0);
    expect(tree.stdout).toContain(`no agents: no cadre store in ${join(folder, '.cadre', 'db')} yet`);
    expect(tree.stdout).toMatch(/CADRE_DATA_DIR.*DATABASE_URL/);
    const json = await read('tree', '--json');
    expect(json.code, json.stderr).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual([]);

    const status = await read('status', 'abcd1234');
    expect(status.code).toBe(3);
    expect(status.stderr).toContain(`cadre: no cadre store in ${join(folder, '.cadre', 'db')} yet`);
    expect(status.stderr).toMatch(/hint: commands that write \(spawn, run, demo\) create it/);

    // The other listings: empty, exit 0, with the same explanation.
    for (const [args, empty, nothing] of [
      [['report', '--json'], { source: 'projections', root: null, statusCounts: {}, costByRole: [], active: [] }, null],
      [['projections', 'status', '--json'], [], null],
      [['workspaces', 'list', '--json'], [], null],
      [['report'], null, 'no agents'],
      [['projections', 'status'], null, 'no projections'],
      [['workspaces', 'list'], null, 'no worktrees'],
    ] as const) {
      const r = await read(...args);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
      if (empty !== null) expect(JSON.parse(r.stdout)).toEqual(empty);
      else expect(r.stdout).toContain(`${nothing}: no cadre store in ${join(folder, '.cadre', 'db')} yet`);
    }

    // Templates need no store: still listed.
    const templates = await read('templates', 'list');
    expect(templates.code, templates.stderr).toBe(0);
    expect(templates.stdout).toContain('tdd-workflow');

    expect(existsSync(join(folder, '.cadre'))).toBe(false);
    expect(readdirSync(folder)).toEqual([]);
  }, 120_000);

  it('an empty folder named by CADRE_DATA_DIR is left as it is; a command that writes then creates the store there', async () => {
    const dataDir = join(folder, 'empty-db');
    mkdirSync(dataDir);
    const tree = await runCadre(['tree'], env({ CADRE_DATA_DIR: dataDir }), { cwd: folder });
    expect(tree.code, tree.stderr).toBe(0);
    expect(readdirSync(dataDir)).toEqual([]);
    const spawned = await runCadre(['spawn', '--role', 'r', '--task', 't', '--budget', '100'], env({ CADRE_DATA_DIR: dataDir }), { cwd: folder });
    expect(spawned.code, spawned.stderr).toBe(0);
    const after = await runCadre(['tree', '--json'], env({ CADRE_DATA_DIR: dataDir }), { cwd: folder });
    expect(after.code, after.stderr).toBe(0);
    expect(JSON.parse(after.stdout)).toHaveLength(1);
  }, 120_000);

  it('a folder of files that is no store is refused naming CADRE_DATA_DIR and left byte for byte (its postgresql.conf was overwritten); the default .cadre/ keeps itself out of git', async () => {
    const theirs = join(folder, 'their-files');
    mkdirSync(theirs);
    writeFileSync(join(theirs, 'postgresql.conf'), 'my config\n');
    const refused = await runCadre(['spawn', '--role', 'r', '--task', 't', '--budget', '100'], env({ CADRE_DATA_DIR: theirs }), { cwd: folder });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/^cadre: invalid configuration CADRE_DATA_DIR: cannot keep the embedded store in ".*their-files": it holds files and no cadre store \(postgresql\.conf\)/);
    expect(readdirSync(theirs)).toEqual(['postgresql.conf']);
    expect(readFileSync(join(theirs, 'postgresql.conf'), 'utf8')).toBe('my config\n');

    const repo = join(folder, 'repo');
    mkdirSync(repo);
    execFileSync('git', ['init', '-q'], { cwd: repo });
    const spawned = await runCadre(['spawn', '--role', 'r', '--task', 't', '--budget', '100'], env({}), { cwd: repo });
    expect(spawned.code, spawned.stderr).toBe(0);
    expect(execFileSync('git', ['status', '--porcelain'], { cwd: repo }).toString()).toBe('');
    expect(statSync(join(repo, '.cadre', 'db')).mode & 0o777).toBe(0o700);

    // A store PGlite cannot start on said only "PGlite failed to initialize properly".
    const foreign = join(folder, 'foreign');
    mkdirSync(join(foreign, 'base'), { recursive: true });
    writeFileSync(join(foreign, 'PG_VERSION'), '9\n');
    const tree = await runCadre(['tree'], env({ CADRE_DATA_DIR: foreign }), { cwd: folder });
    expect(tree.code).toBe(2);
    expect(tree.stderr).toMatch(/^cadre: invalid configuration CADRE_DATA_DIR: cannot keep the embedded store in ".*foreign": PGlite could not start on it: /);
  }, 120_000);
});
