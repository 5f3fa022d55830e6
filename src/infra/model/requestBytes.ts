import type { ModelRequest } from '../../actors/ports/modelProvider.js';

/**
 * The UTF-8 bytes of what a model is given to read: the system prompt, and the messages and the
 * tools as JSON. A token stands for at least one of them (inputTokenBound) and at most a few
 * dozen (checkingModel).
 *
 * @example
 * requestBytes({ system: 'hi', messages: [], tools: [], maxTokens: 10 }); // 6
 */
export function requestBytes(request: Pick<ModelRequest, 'system' | 'messages' | 'tools'>): number {
  return Buffer.byteLength(request.system, 'utf8') + Buffer.byteLength(JSON.stringify(request.messages), 'utf8') + Buffer.byteLength(JSON.stringify(request.tools), 'utf8');
}
