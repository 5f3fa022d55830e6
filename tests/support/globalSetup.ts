import type {} from 'vitest';
import pg from 'pg';
import { startEmbeddedPostgres } from './embeddedPostgres.js';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    /** A database created for this test run only; dropped at the end. */
    pgUrl: string;
    /** Where it came from, printed so nobody wonders which server the suite ran against. */
    pgSource: string;
  }
}

interface Shared {
  url: string;
  source: string;
  users: number;
  teardown: () => Promise<void>;
}
const KEY = Symbol.for('cadre.tests.postgres');
type WithShared = typeof globalThis & { [KEY]?: Promise<Shared> };

/** Every vitest project calls this; they share one database per run. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const g = globalThis as WithShared;
  g[KEY] ??= startPostgres();
  const shared = await g[KEY];
  shared.users++;
  project.provide('pgUrl', shared.url);
  project.provide('pgSource', shared.source);
  return async () => {
    if (--shared.users === 0) {
      delete g[KEY];
      await shared.teardown();
    }
  };
}

async function startPostgres(): Promise<Shared> {
  let adminUrl = process.env.DATABASE_URL;
  let source = 'DATABASE_URL';
  let stopEmbedded: (() => Promise<void>) | undefined;
  if (!adminUrl) {
    const embedded = await startEmbeddedPostgres();
    adminUrl = embedded.url;
    source = `embedded Postgres on port ${embedded.port}`;
    stopEmbedded = () => embedded.stop();
  }
  const dbName = `cadre_test_${process.pid}_${Date.now().toString(36)}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${dbName}`);
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${dbName}`;
  console.log(`[cadre tests] Postgres: ${source}, database ${dbName}`);

  return { url: url.toString(), source, users: 0, teardown: async () => {
    const c = new pg.Client({ connectionString: adminUrl });
    await c.connect();
    await c.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
    await c.end();
    await stopEmbedded?.();
  } };
}
