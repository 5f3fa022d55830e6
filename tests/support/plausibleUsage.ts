import type { ModelRequest, ModelUsage } from '../../src/actors/ports/modelProvider.js';
import { requestBytes } from '../../src/infra/model/requestBytes.js';

/**
 * Usage a real API could report for `request`: an input token per 16 bytes of what it was given
 * (real text runs 3 to 4 bytes a token; checkingModel refuses fewer than one per 64, past 16 kB).
 * For scripted models whose requests grow large.
 *
 * @example
 * createScriptedProvider((r) => ({ model: 'scripted', stopReason: 'end_turn', usage: plausibleUsage(r), content }));
 */
export function plausibleUsage(request: ModelRequest, outputTokens = 10): ModelUsage {
  return { inputTokens: Math.ceil(requestBytes(request) / 16), outputTokens, cacheReadTokens: 0, cacheCreationTokens: 0 };
}
