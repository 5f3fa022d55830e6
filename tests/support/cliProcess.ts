import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { testPgUrl } from './testDb.js';
import { CADRE_BIN } from './cadreCli.js';


/** One `node bin/cadre.js …` child process, with its output kept and lines to wait for. */
export interface CliProcess {
  readonly child: ChildProcess;
  /** stdout and stderr so far. */
  output(): string;
  /** Resolves at the first output line matching `re` (already printed or still to come). */
  line(re: RegExp): Promise<string>;
  /** Resolves with the exit code (or the signal's name) when the process ends. */
  readonly exited: Promise<number | string>;
  kill(signal?: NodeJS.Signals): void;
}

/** `bin` and `cwd` run another install of cadre (a packed tarball's) from another folder. */
export function startCli(args: readonly string[], env: Readonly<Record<string, string>>, options: { bin?: string; cwd?: string } = {}): CliProcess {
  const base: NodeJS.ProcessEnv = { ...process.env };
  for (const k of ['DATABASE_URL', 'EVENT_STORE', 'ANTHROPIC_API_KEY', 'ANTHROPIC_BASE_URL', 'CADRE_DATA_DIR', 'CADRE_MODEL']) delete base[k];
  const child = spawn('node', [options.bin ?? CADRE_BIN, ...args], { env: { ...base, NO_COLOR: '1', LOG_LEVEL: 'error', ...env }, stdio: ['ignore', 'pipe', 'pipe'], ...(options.cwd ? { cwd: options.cwd } : {}) });
  let text = '';
  const waiters: Array<{ re: RegExp; resolve: (line: string) => void }> = [];
  const check = (): void => {
    for (const w of [...waiters]) {
      const hit = text.split('\n').find((l) => w.re.test(l));
      if (hit !== undefined) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(hit);
      }
    }
  };
  const take = (chunk: Buffer): void => {
    text += chunk.toString();
    check();
  };
  child.stdout!.on('data', take);
  child.stderr!.on('data', take);
  const exited = new Promise<number | string>((resolve) => child.on('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  return {
    child,
    output: () => text,
    line: (re) =>
      new Promise<string>((resolve, reject) => {
        waiters.push({ re, resolve });
        check();
        void exited.then(() => {
          if (waiters.some((w) => w.re === re)) reject(new Error(`cadre ${args.join(' ')} exited before printing ${re}:\n${text}`));
        });
      }),
    exited,
    kill: (signal = 'SIGTERM') => void child.kill(signal),
  };
}

/** Runs a CLI command to its end; its exit code and output. */
export async function runCli(args: readonly string[], env: Readonly<Record<string, string>>): Promise<{ code: number | string; output: string }> {
  const p = startCli(args, env);
  const code = await p.exited;
  return { code, output: p.output() };
}

/**
 * A database of its own on the test server, for processes that use the CLI's fixed schema:
 * `url` for DATABASE_URL, `query` to read what they stored, `drop` at the end.
 */
export async function freshDatabase(): Promise<{ url: string; query<R extends pg.QueryResultRow>(text: string): Promise<R[]>; drop(): Promise<void> }> {
  const name = `up_${randomUUID().replace(/-/g, '').slice(0, 12)}`;
  const admin = new pg.Client({ connectionString: testPgUrl() });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const u = new URL(testPgUrl());
  u.pathname = `/${name}`;
  const url = u.toString();
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  return {
    url,
    query: async <R extends pg.QueryResultRow>(text: string) => (await client.query<R>(text)).rows,
    async drop() {
      await client.end();
      const a = new pg.Client({ connectionString: testPgUrl() });
      await a.connect();
      await a.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await a.end();
    },
  };
}
