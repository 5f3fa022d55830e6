import type { Env } from '../infra/config.js';
import type { createModelProvider } from '../infra/model/createModelProvider.js';

/**
 * The model option, completed from the environment: an explicit option wins field by field, and
 * the environment fills what it leaves out (`{ provider: 'anthropic', maxTokens: 2000 }` takes
 * the key, base URL and model from ANTHROPIC_API_KEY, ANTHROPIC_BASE_URL and CADRE_MODEL).
 */
export function modelConfig(given: Record<string, unknown> | undefined, env: Env): Parameters<typeof createModelProvider>[0] {
  const fromEnv = {
    ...(env.ANTHROPIC_API_KEY ? { apiKey: env.ANTHROPIC_API_KEY } : {}),
    ...(env.CADRE_MODEL ? { model: env.CADRE_MODEL } : {}),
    ...(env.ANTHROPIC_BASE_URL ? { baseURL: env.ANTHROPIC_BASE_URL } : {}),
  };
  if (given) {
    const set = Object.fromEntries(Object.entries(given).filter(([, v]) => v !== undefined));
    return (given.provider === 'anthropic' ? { ...fromEnv, ...set } : given) as Parameters<typeof createModelProvider>[0];
  }
  if (env.ANTHROPIC_API_KEY) return { provider: 'anthropic', ...fromEnv } as Parameters<typeof createModelProvider>[0];
  return { provider: 'offline' };
}
