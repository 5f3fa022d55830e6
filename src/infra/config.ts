import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { MAX_TIMEOUT_MS } from '../actors/maxTimeout.js';
import { ConfigError } from '../errors.js';
import { WRITTEN_COUNT } from './writtenCount.js';
import { KEY_SAFE_BASE_URL_MESSAGE, keySafeBaseUrl } from './model/keySafeBaseUrl.js';

/** The URL schemes of a KurrentDB/EventStoreDB connection string. */
export const EVENTSTOREDB_URL = /^(esdb|esdb\+discover|kurrentdb|kurrent):\/\/./;

/** What pg can connect to: a postgres(ql):// URL with a host, `socket:` or a socket folder path. */
function isPostgresUrl(v: string): boolean {
  if (v.startsWith('/') || v.startsWith('socket:')) return true;
  if (!/^postgres(ql)?:\/\//i.test(v)) return false;
  try {
    new URL(v);
    return true;
  } catch {
    return false;
  }
}

/** libpq's sslmode values and node-postgres's own `no-verify`: another (a typo) made pg try TLS and fail with a message naming neither. */
const SSL_MODES = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full', 'no-verify'] as const;

function knownSslMode(v: string): boolean {
  if (!/^postgres(ql)?:\/\//i.test(v)) return true;
  try {
    const mode = new URL(v).searchParams.get('sslmode');
    return mode === null || (SSL_MODES as readonly string[]).includes(mode);
  } catch {
    return true; // the URL check above says what is wrong
  }
}

/**
 * The environment, validated. This is the only place cadre reads `process.env`; everything
 * else gets a parsed config passed in (DESIGN.md, Configuration; .env.example documents it).
 */
/**
 * A count in the environment as the CLI's options take one (parseCount): `10_000` was refused
 * with "expected number, received NaN" while `--budget 10_000` worked (a new user's try); `1e4`,
 * ` 7 ` and `0x10` passed as numbers.
 */
const wholeNumber = z.string().regex(WRITTEN_COUNT, 'expected a whole number written in digits, such as 10000 or 10_000').transform((v) => Number(v.replace(/_/g, '')));

const EnvSchema = z.object({
  /** A postgres:// (or postgresql://) URL, or a socket folder; anything else was a DNS error naming a host called "base". */
  DATABASE_URL: z.string().refine(isPostgresUrl, 'expected a Postgres URL such as postgres://user:password@localhost:5432/cadre')
    .refine(knownSslMode, `sslmode must be one of ${SSL_MODES.join(', ')}`).optional(),
  /** `postgres` (the default) or a KurrentDB/EventStoreDB URL; anything else is a typo, never a silent fall back to PGlite. */
  EVENT_STORE: z.string().refine((v) => v === 'postgres' || EVENTSTOREDB_URL.test(v), 'expected "postgres" or a kurrentdb://, kurrent://, esdb:// or esdb+discover:// URL').optional(),
  ANTHROPIC_API_KEY: z.string().min(1).optional(),
  /** A file holding the key (the `*_FILE` convention of Docker secrets): the key then never sits in cadre's environment, where any program cadre starts could read it from /proc. */
  ANTHROPIC_API_KEY_FILE: z.string().min(1).optional(),
  ANTHROPIC_BASE_URL: z.url().refine(keySafeBaseUrl, KEY_SAFE_BASE_URL_MESSAGE).optional(),
  CADRE_MODEL: z.string().min(1).optional(),
  CADRE_DATA_DIR: z.string().min(1).optional(),
  MAX_CONCURRENT_AGENTS: wholeNumber.pipe(z.number().min(1, 'must be at least 1').max(100_000, 'must be at most 100000')).optional(),
  /** In ms, up to a week. */
  DEFAULT_AGENT_TIMEOUT: wholeNumber.pipe(z.number().min(1, 'must be at least 1 (ms)').max(MAX_TIMEOUT_MS, `must be at most ${MAX_TIMEOUT_MS} (a week, in ms)`)).optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).optional(),
  /** `json` (pino lines, the library's default) or `human` (one readable line each, the CLI's default). */
  LOG_FORMAT: z.enum(['json', 'human']).optional(),
  WORKSPACE_REPO: z.string().min(1).optional(),
  WORKSPACE_BASE_PATH: z.string().min(1).optional(),
  WORKSPACE_CLEANUP_POLICY: z.enum(['on_completion', 'on_failure', 'never']).optional(),
  CADRE_TEMPLATES_DIR: z.string().min(1).optional(),
  CADRE_ALLOW_COMMANDS: z.enum(['0', '1', 'true', 'false']).optional(),
  CADRE_DASHBOARD_TOKEN: z.string().min(1).optional(),
  // OpenTelemetry's standard exporter variables (docs/tracing.md), read as text here and checked by
  // src/telemetry/otlp/otlpSettings.ts only where spans are exported: a bad value set for some
  // other program does not stop the commands that never export.
  OTEL_EXPORTER_OTLP_ENDPOINT: z.string().optional(),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: z.string().optional(),
  OTEL_EXPORTER_OTLP_PROTOCOL: z.string().optional(),
  OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: z.string().optional(),
  OTEL_EXPORTER_OTLP_HEADERS: z.string().optional(),
  OTEL_EXPORTER_OTLP_TRACES_HEADERS: z.string().optional(),
  OTEL_EXPORTER_OTLP_TIMEOUT: z.string().optional(),
  OTEL_EXPORTER_OTLP_TRACES_TIMEOUT: z.string().optional(),
  OTEL_SERVICE_NAME: z.string().optional(),
  OTEL_TRACES_EXPORTER: z.string().optional(),
});

export type Env = z.infer<typeof EnvSchema>;

export function readEnv(env: Record<string, string | undefined> = process.env): Env {
  const picked: Record<string, string> = {};
  for (const key of Object.keys(EnvSchema.shape)) {
    const v = env[key];
    if (v !== undefined && v !== '') picked[key] = v;
  }
  const r = EnvSchema.safeParse(picked);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    throw new ConfigError(String(issue.path[0] ?? 'environment'), issue.message);
  }
  return withKeyFile(r.data);
}

/** Reads `ANTHROPIC_API_KEY_FILE` once, into `ANTHROPIC_API_KEY`; errors name the variable. */
function withKeyFile(env: Env): Env {
  const file = env.ANTHROPIC_API_KEY_FILE;
  if (file === undefined) return env;
  if (env.ANTHROPIC_API_KEY !== undefined) throw new ConfigError('ANTHROPIC_API_KEY_FILE', 'set either ANTHROPIC_API_KEY or ANTHROPIC_API_KEY_FILE, not both');
  let key: string;
  try {
    key = readFileSync(file, 'utf8').trim();
  } catch (e) {
    throw new ConfigError('ANTHROPIC_API_KEY_FILE', `cannot read ${JSON.stringify(file)}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  if (key === '') throw new ConfigError('ANTHROPIC_API_KEY_FILE', `${JSON.stringify(file)} is empty`);
  return { ...env, ANTHROPIC_API_KEY: key };
}
