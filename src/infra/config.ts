import { z } from 'zod';
import { ConfigError } from '../errors.js';

/**
 * The environment, validated. This is the only place cadre reads `process.env`; everything
 * else gets a parsed config passed in (DESIGN.md, Configuration; .env.example documents it).
 */
const EnvSchema = z.object({
  DATABASE_URL: z.string().min(1).optional(),
  EVENT_STORE: z.string().min(1).optional(),
  ANTHROPIC_API_KEY: z.string().min(1).optional(),
  ANTHROPIC_BASE_URL: z.url().optional(),
  CADRE_MODEL: z.string().min(1).optional(),
  CADRE_DATA_DIR: z.string().min(1).optional(),
  MAX_CONCURRENT_AGENTS: z.coerce.number().int().positive().max(100_000).optional(),
  DEFAULT_AGENT_TIMEOUT: z.coerce.number().int().positive().optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).optional(),
  WORKSPACE_REPO: z.string().min(1).optional(),
  WORKSPACE_BASE_PATH: z.string().min(1).optional(),
  WORKSPACE_CLEANUP_POLICY: z.enum(['on_completion', 'on_failure', 'never']).optional(),
  CADRE_TEMPLATES_DIR: z.string().min(1).optional(),
  CADRE_ALLOW_COMMANDS: z.enum(['0', '1', 'true', 'false']).optional(),
  CADRE_DASHBOARD_TOKEN: z.string().min(1).optional(),
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
  return r.data;
}
