import { afterEach, beforeEach, expect } from 'vitest';
import { startFakeMessagesApi, type FakeMessagesApi } from './fakeMessagesApi.js';
import { freshDatabase, runCli, startCli, type CliProcess } from './cliProcess.js';
import { countingModel } from './countingModel.js';

export interface UserPathEnv {
  /** The environment every CLI process of the current test gets: its database and the local Messages API. */
  readonly env: Record<string, string>;
  readonly db: Awaited<ReturnType<typeof freshDatabase>>;
  readonly api: FakeMessagesApi;
  /** Resolves at the n-th model request the server receives. */
  modelRequest(n: number): Promise<void>;
  /** Starts `cadre <args>`, killed after the test. */
  cli(args: string[]): CliProcess;
}

/**
 * Each test of a user-path file gets a local Messages API answering with `countingModel`, a
 * fresh Postgres database migrated once up front (so processes started side by side never race
 * to create the tables), and its CLI processes killed at the end. Call at the top of the file.
 *
 * @example
 * const user = userPathEnv({ delayMs: () => 2500 });
 * it('...', async () => { const w = user.cli(['worker']); await user.modelRequest(1); });
 */
export function userPathEnv(model: Parameters<typeof countingModel>[1]): UserPathEnv {
  let api: FakeMessagesApi;
  let db: UserPathEnv['db'];
  let env: Record<string, string>;
  let requests: ReturnType<typeof countingModel>;
  const started: CliProcess[] = [];

  beforeEach(async () => {
    api = await startFakeMessagesApi();
    requests = countingModel(api, model);
    db = await freshDatabase();
    env = { DATABASE_URL: db.url, ANTHROPIC_API_KEY: 'sk-test-local', ANTHROPIC_BASE_URL: api.url };
    const migrated = await runCli(['migrate'], env);
    expect(migrated.code, migrated.output).toBe(0);
  });

  afterEach(async () => {
    for (const p of started.splice(0)) {
      p.kill('SIGKILL');
      await p.exited;
    }
    await api.close();
    await db.drop();
  });

  return {
    get env() {
      return env;
    },
    get db() {
      return db;
    },
    get api() {
      return api;
    },
    modelRequest: (n) => requests.request(n),
    cli(args) {
      const p = startCli(args, env);
      started.push(p);
      return p;
    },
  };
}
