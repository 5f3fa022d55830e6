import { createHash } from 'node:crypto';

/**
 * A model request is stored in parts, so what every request repeats is stored once (issue 19):
 *
 * - **Its tool definitions** are the same on every turn of every agent with the same tools, and
 *   were most of each request blob (~830 of ~1,580 bytes of JSON in the bench's workflow). The
 *   request names a blob of them under the key `$toolsRef`.
 * - **Its conversation**: turn n's request carries every message so far, so each tool output and
 *   reply was stored again at every later turn, O(turns²). Measured (.prof/turns.ts: one agent,
 *   20 turns, a 4 kB tool output each): 684 kB of request JSON for 80 kB of outputs. Now a tool
 *   result's text of `MIN_BLOCK_CHARS` or more is named by `{ "$blockRef": ref }` in its place,
 *   in every message, and any other block that long in the messages before the last is named
 *   the same way in its own place. Parts are content-addressed: a tool output is the very blob
 *   the runtime stored it as (toolOutputBlobs.ts puts the string), and a block the earlier
 *   turn's request stored is found there. A one-turn agent's request is one blob, as before.
 *
 * A blob's ref is still the hash of the whole value, so refs, and every event naming one, are as
 * before; a blob stored whole (before this, or with nothing to split) reads as it always did.
 */
export const TOOLS_REF = '$toolsRef';
export const BLOCK_REF = '$blockRef';
/** Marks a request whose blocks were split off: only then does a `$blockRef` on read name a part. */
export const BLOCKS_PACKED = '$blocksPacked';

/**
 * Blocks shorter than this stay inline: a ref in its place is ~80 characters of JSON, and a blob
 * row with its key in the index costs ~200 bytes more.
 */
export const MIN_BLOCK_CHARS = 256;

/** A blob's content address: the hash of its JSON text. */
export const refOf = (json: string): string => `sha256:${createHash('sha256').update(json).digest('hex')}`;

export interface StoredPart {
  readonly ref: string;
  readonly json: string;
}

/** What to store for `value` (JSON text `json`): itself, or a packed request and the parts it names. */
export function packed(value: unknown, json: string): { readonly json: string; readonly parts: readonly StoredPart[] } {
  if (!isPlainObject(value) || Object.hasOwn(value, TOOLS_REF) || Object.hasOwn(value, BLOCKS_PACKED)) return { json, parts: [] };
  const parts = new Map<string, StoredPart>();
  const rest: Record<string, unknown> = { ...value };
  if (Array.isArray(value.tools) && value.tools.length > 0) {
    const tools = JSON.stringify(value.tools);
    const toolsRef = refOf(tools);
    parts.set(toolsRef, { ref: toolsRef, json: tools });
    delete rest.tools;
    rest[TOOLS_REF] = toolsRef;
  }
  if (Array.isArray(value.messages) && !value.messages.some(hasBlockRef)) {
    const last = value.messages.length - 1;
    const before = parts.size;
    rest.messages = value.messages.map((m: unknown, i) => packedMessage(m, i === last, parts));
    if (parts.size > before) rest[BLOCKS_PACKED] = true;
  }
  if (parts.size === 0) return { json, parts: [] };
  return { json: JSON.stringify(rest), parts: [...parts.values()] };
}

function packedMessage(m: unknown, isLast: boolean, parts: Map<string, StoredPart>): unknown {
  if (!isPlainObject(m) || !Array.isArray(m.content)) return m;
  let changed = false;
  const byRef = (json: string): { [BLOCK_REF]: string } => {
    const ref = refOf(json);
    parts.set(ref, { ref, json });
    changed = true;
    return { [BLOCK_REF]: ref };
  };
  const content = m.content.map((block: unknown) => {
    if (!isPlainObject(block)) return block;
    if (block.type === 'tool_result' && typeof block.content === 'string') {
      return block.content.length < MIN_BLOCK_CHARS ? block : { ...block, content: byRef(JSON.stringify(block.content)) };
    }
    if (isLast) return block;
    const json = JSON.stringify(block);
    return json.length < MIN_BLOCK_CHARS ? block : byRef(json);
  });
  return changed ? { ...m, content } : m;
}

const isRef = (v: unknown): v is { [BLOCK_REF]: string } => isPlainObject(v) && typeof v[BLOCK_REF] === 'string';

/** A block named by ref, or a tool result whose text is: a request holding one already is stored whole, to read back as it was. */
const hasBlockRef = (m: unknown): boolean =>
  isPlainObject(m) && Array.isArray(m.content) && m.content.some((b: unknown) => isPlainObject(b) && (Object.hasOwn(b, BLOCK_REF) || (isPlainObject(b.content) && Object.hasOwn(b.content, BLOCK_REF))));

/**
 * `content` as read from the table, whole again: a packed request gets its tools and blocks
 * back, its keys in the order Postgres returns a jsonb object's (shorter first, then bytewise),
 * as the whole request read back before. `load` reads a blob by ref.
 */
export async function unpacked(content: unknown, load: (ref: string) => Promise<unknown>): Promise<unknown> {
  if (!isPlainObject(content)) return content;
  const hasTools = typeof content[TOOLS_REF] === 'string';
  const packedMessages = content[BLOCKS_PACKED] === true && Array.isArray(content.messages);
  if (!hasTools && !packedMessages) return content;
  const { [TOOLS_REF]: toolsRef, [BLOCKS_PACKED]: _packed, ...rest } = content;
  const whole: Record<string, unknown> = hasTools ? { ...rest, tools: await load(toolsRef as string) } : rest;
  if (packedMessages) whole.messages = await Promise.all((content.messages as unknown[]).map((m) => unpackedMessage(m, load)));
  const keys = Object.keys(whole).sort((a, b) => a.length - b.length || (a < b ? -1 : a > b ? 1 : 0));
  return Object.fromEntries(keys.map((k) => [k, whole[k]]));
}

async function unpackedMessage(m: unknown, load: (ref: string) => Promise<unknown>): Promise<unknown> {
  if (!hasBlockRef(m)) return m;
  const message = m as Record<string, unknown> & { content: unknown[] };
  const content = await Promise.all(
    message.content.map(async (b) => {
      if (isRef(b)) return load(b[BLOCK_REF]);
      // A tool result's keys stay in place (jsonb order); only its text comes back.
      if (isPlainObject(b) && isRef(b.content)) return { ...b, content: await load(b.content[BLOCK_REF]) };
      return b;
    }),
  );
  // The message's own keys stay where they were (jsonb order already); only its content changes.
  return { ...message, content };
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
