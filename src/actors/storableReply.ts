import type { ModelReply } from './ports/modelProvider.js';

/** What a NUL in a model's output becomes: visible, and not a character any path or command accepts. */
export const NUL_REPLACEMENT = '\uFFFD';

const replaceNul = (v: unknown): unknown => {
  if (typeof v === 'string') return v.includes('\0') ? v.replaceAll('\0', NUL_REPLACEMENT) : v;
  if (Array.isArray(v)) return v.map(replaceNul);
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [replaceNul(k) as string, replaceNul(x)]));
  return v;
};

/**
 * A model reply as it can be stored and replayed. Postgres JSON cannot hold U+0000, and a model
 * (or a prompt injected into it) can emit one anywhere, tool arguments included; refusing the
 * append would leave the agent unable to record its own reply. The replacement is what gets
 * recorded AND what the tools receive, so a replay sees exactly what ran.
 */
export function storableReply(reply: ModelReply): ModelReply {
  return JSON.stringify(reply.content).includes('\\u0000') ? { ...reply, content: replaceNul(reply.content) as ModelReply['content'] } : reply;
}
