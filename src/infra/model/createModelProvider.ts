import { z } from 'zod';
import type { Logger } from 'pino';
import type { ModelProvider, ModelReply, ModelRequest } from '../../actors/ports/modelProvider.js';
import { parseInput } from '../../validation.js';
import { createAnthropicProvider } from './anthropicProvider.js';
import { ModelReplySchema } from './modelReplySchema.js';
import { createOfflineProvider } from './offlineProvider.js';
import type { ModelScript } from './scriptedProvider.js';
import { createScriptedProvider } from './scriptedProvider.js';
import { KEY_SAFE_BASE_URL_MESSAGE, keySafeBaseUrl } from './keySafeBaseUrl.js';

const positiveInt = z.number().int().positive();
const perMinute = z.number().positive();

const AnthropicConfigSchema = z.strictObject({
  provider: z.literal('anthropic'),
  model: z.string().min(1).optional(),
  apiKey: z.string({ error: 'required for the anthropic provider (set ANTHROPIC_API_KEY or pass model.apiKey)' }).min(1, 'must not be empty'),
  baseURL: z.url().refine(keySafeBaseUrl, KEY_SAFE_BASE_URL_MESSAGE).optional(),
  maxTokens: positiveInt.optional(),
  maxRetries: z.number().int().min(0).max(10).optional(),
  timeoutMs: positiveInt.optional(),
  rateLimit: z.strictObject({ requestsPerMinute: perMinute.optional(), tokensPerMinute: perMinute.optional() }).optional(),
});

const OfflineConfigSchema = z.strictObject({
  provider: z.literal('offline'),
  latencyMs: z.number().int().min(0).optional(),
  usage: z.strictObject({ input: z.number().int().min(0), output: z.number().int().min(0) }).optional(),
});

const ScriptedConfigSchema = z.strictObject({
  provider: z.literal('scripted'),
  replies: z.union([
    z.array(ModelReplySchema),
    z.custom<(request: ModelRequest, callIndex: number) => ModelReply | Promise<ModelReply>>((v) => typeof v === 'function', {
      error: 'must be a list of replies or a function of (request, callIndex)',
    }),
  ]),
});

/** The `model` option of `createAgentSystem` (DESIGN.md, Configuration). */
export const ModelConfigSchema = z.discriminatedUnion('provider', [AnthropicConfigSchema, OfflineConfigSchema, ScriptedConfigSchema], {
  error: 'provider must be "anthropic", "offline" or "scripted"',
});

export type ModelConfig =
  | {
      readonly provider: 'anthropic';
      readonly model?: string;
      readonly apiKey?: string;
      readonly baseURL?: string;
      readonly maxTokens?: number;
      readonly maxRetries?: number;
      readonly timeoutMs?: number;
      readonly rateLimit?: { readonly requestsPerMinute?: number; readonly tokensPerMinute?: number };
    }
  | { readonly provider: 'offline'; readonly latencyMs?: number; readonly usage?: { readonly input: number; readonly output: number } }
  | { readonly provider: 'scripted'; readonly replies: ModelScript };

/**
 * Builds the model provider a configuration names. The configuration is validated first; a
 * bad field throws `InvalidInput` naming it (`model.apiKey`, `model.latencyMs`, ...). Reading
 * the environment is the config layer's job: pass `apiKey` in.
 *
 * @example
 * const model = createModelProvider(env.ANTHROPIC_API_KEY
 *   ? { provider: 'anthropic', apiKey: env.ANTHROPIC_API_KEY, model: env.CADRE_MODEL }
 *   : { provider: 'offline' }, { logger });
 */
export function createModelProvider(config: ModelConfig, deps: { readonly logger?: Logger } = {}): ModelProvider {
  const parsed = parseInput(ModelConfigSchema, config, 'model');
  switch (parsed.provider) {
    case 'anthropic':
      return createAnthropicProvider({ ...parsed, ...(deps.logger ? { logger: deps.logger } : {}) });
    case 'offline':
      return createOfflineProvider(parsed);
    case 'scripted':
      return createScriptedProvider(parsed.replies);
    default: {
      const never: never = parsed;
      throw new Error(`unreachable: ${JSON.stringify(never)}`);
    }
  }
}
