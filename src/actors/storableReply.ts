import type { ModelReply } from './ports/modelProvider.js';
import { LONE_SURROGATE } from '../validation.js';

/** What a NUL or an unpaired surrogate in a model's output becomes: visible, and not a character any path or command accepts. */
export const NUL_REPLACEMENT = '\uFFFD';

const LONE_SURROGATES = new RegExp(LONE_SURROGATE.source, 'g');
const needsCleaning = (s: string): boolean => s.includes('\0') || LONE_SURROGATE.test(s);
/** `s` as Postgres JSON can hold it: each NUL and unpaired surrogate replaced (NUL_REPLACEMENT). */
export const storableString = (s: string): string => (needsCleaning(s) ? s.replaceAll('\0', NUL_REPLACEMENT).replace(LONE_SURROGATES, NUL_REPLACEMENT) : s);
const clean = storableString;

/** A copy with every string and key cleaned; an explicit stack, so a deeply nested tool input cannot overflow it. */
function cleanDeep(value: unknown): unknown {
  const copy = (v: unknown): unknown => (typeof v === 'string' ? clean(v) : Array.isArray(v) ? new Array<unknown>(v.length) : v !== null && typeof v === 'object' ? {} : v);
  const root = copy(value);
  const stack: [unknown, unknown][] = [[value, root]];
  while (stack.length > 0) {
    const [from, to] = stack.pop()!;
    if (from === null || typeof from !== 'object') continue;
    for (const [k, v] of Object.entries(from)) {
      const c = copy(v);
      if (Array.isArray(to)) to[Number(k)] = c;
      else (to as Record<string, unknown>)[clean(k)] = c;
      if (v !== null && typeof v === 'object') stack.push([v, c]);
    }
  }
  return root;
}

/**
 * A model reply as it can be stored and replayed. Postgres JSON cannot hold U+0000 or an unpaired
 * UTF-16 surrogate, and a model (or a prompt injected into it) can emit either anywhere, tool
 * arguments included; refusing the append would fail the agent and lose the reply's usage. Both
 * become U+FFFD, which is what gets recorded AND what the tools receive, so a replay sees exactly
 * what ran.
 */
export function storableReply(reply: ModelReply): ModelReply {
  const text = JSON.stringify(reply.content);
  // JSON.stringify writes NUL as \u0000 and a lone surrogate as \udXXX; paired ones stay raw.
  if (!/\\u0000|\\ud[89a-f]/i.test(text) && !needsCleaning(reply.model)) return reply;
  return { ...reply, model: clean(reply.model), content: cleanDeep(reply.content) as ModelReply['content'] };
}
