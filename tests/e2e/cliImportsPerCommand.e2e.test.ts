import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CADRE_BIN } from '../support/cadreCli.js';
import { freshDatabase } from '../support/cliProcess.js';

const exec = promisify(execFile);
const TRACER = join(process.cwd(), 'tests', 'support', 'traceImports.mjs');

/**
 * The packages `cadre <args>` loaded, by name: from node_modules/<name> (or @scope/name), and
 * those bundled into the chunks of dist/bundle it loaded (the build lists them per chunk).
 */
async function packagesLoaded(args: string[], env: Record<string, string>): Promise<Set<string>> {
  const { stderr } = await exec('node', ['--import', TRACER, CADRE_BIN, ...args], { env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', NO_COLOR: '1', ...env }, maxBuffer: 64 << 20, timeout: 120_000 });
  const names = new Set<string>();
  for (const m of stderr.matchAll(/^loaded .*?\/node_modules\/((?:@[^/]+\/)?[^/]+)\//gm)) names.add(m[1]!);
  const chunks = stderr.match(/^loaded .*\/dist\/bundle\/[^/\s]+\.js$/gm) ?? [];
  if (chunks.length > 0) {
    const inside = JSON.parse(readFileSync(join(process.cwd(), 'dist', 'bundle', 'packages.json'), 'utf8')) as Record<string, string[]>;
    for (const line of chunks) for (const name of inside[basename(line)] ?? []) names.add(name);
  }
  return names;
}

/**
 * Start-up: each command loads what it uses (issue 18, fast start). The model SDK, the KurrentDB
 * client and PGlite are the heaviest packages (hundreds of modules, gRPC, WASM); a read on
 * Postgres needs none of them, and --version needs nothing of cadre's system at all.
 */
describe('cadre loads per command what that command needs', () => {
  let db: Awaited<ReturnType<typeof freshDatabase>>;
  beforeAll(async () => {
    db = await freshDatabase();
  });
  afterAll(async () => {
    await db.drop();
  });

  it('--version and --help load no store, model or schema library', async () => {
    for (const args of [['--version'], ['--help'], ['tree', '--help']]) {
      const loaded = await packagesLoaded(args, {});
      for (const heavy of ['@anthropic-ai/sdk', '@kurrent/kurrentdb-client', '@electric-sql/pglite', 'zod', 'pg', 'xstate', 'pino']) expect(loaded.has(heavy), `${args.join(' ')} loaded ${heavy}`).toBe(false);
    }
  });

  it('a read command on Postgres, with an API key set, loads neither the SDK, the KurrentDB client nor PGlite', async () => {
    const loaded = await packagesLoaded(['tree'], { DATABASE_URL: db.url, ANTHROPIC_API_KEY: 'sk-test-never-called' });
    expect(loaded.has('pg')).toBe(true);
    for (const heavy of ['@anthropic-ai/sdk', '@kurrent/kurrentdb-client', '@electric-sql/pglite', 're2js']) expect(loaded.has(heavy), `tree loaded ${heavy}`).toBe(false);
  });
});
