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
  return Buffer.byteLength(request.system, 'utf8') + jsonBytes(request.messages) + jsonBytes(request.tools);
}

/**
 * Each turn's request is counted twice, by the same arrays: for its reservation (inputTokenBound,
 * on the draft) and its reply's usage check (checkingModel, on the request made from it). A
 * turn's conversation can be hundreds of kB, so the count is kept by array, once.
 */
const counted = new WeakMap<object, number>();
function jsonBytes(value: readonly unknown[]): number {
  let n = counted.get(value);
  if (n === undefined) counted.set(value, (n = Buffer.byteLength(JSON.stringify(value), 'utf8')));
  return n;
}
