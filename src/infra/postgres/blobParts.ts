import { createHash } from 'node:crypto';

/**
 * A model request's tool definitions are the same on every turn of every agent with the same
 * tools, and were most of each request blob (~830 of ~1,580 bytes of JSON in the bench's
 * workflow). A request is stored with the key `$toolsRef` in their place, naming a blob of its
 * own that one commit writes and every later one finds there (issue 19). A blob's ref is still
 * the hash of the whole value, so refs, and every event naming one, are as before; a blob stored
 * whole (before this, or without tools) reads as it always did.
 */
export const TOOLS_REF = '$toolsRef';

/** A blob's content address: the hash of its JSON text. */
export const refOf = (json: string): string => `sha256:${createHash('sha256').update(json).digest('hex')}`;

export interface StoredPart {
  readonly ref: string;
  readonly json: string;
}

/** What to store for `value` (JSON text `json`): itself, or a packed request and its tools' blob. */
export function packed(value: unknown, json: string): { readonly json: string; readonly parts: readonly StoredPart[] } {
  if (!isPlainObject(value) || !Array.isArray(value.tools) || value.tools.length === 0 || Object.hasOwn(value, TOOLS_REF)) return { json, parts: [] };
  const tools = JSON.stringify(value.tools);
  const toolsRef = refOf(tools);
  const { tools: _tools, ...rest } = value;
  return { json: JSON.stringify({ ...rest, [TOOLS_REF]: toolsRef }), parts: [{ ref: toolsRef, json: tools }] };
}

/**
 * `content` as read from the table, whole again: a packed request gets its tools back, its keys
 * in the order Postgres returns a jsonb object's (shorter first, then bytewise), as the whole
 * request read back before. `load` reads a blob by ref.
 */
export async function unpacked(content: unknown, load: (ref: string) => Promise<unknown>): Promise<unknown> {
  if (!isPlainObject(content) || typeof content[TOOLS_REF] !== 'string') return content;
  const { [TOOLS_REF]: toolsRef, ...rest } = content;
  const whole: Record<string, unknown> = { ...rest, tools: await load(toolsRef as string) };
  const keys = Object.keys(whole).sort((a, b) => a.length - b.length || (a < b ? -1 : a > b ? 1 : 0));
  return Object.fromEntries(keys.map((k) => [k, whole[k]]));
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
