import { z } from 'zod';
import { MessageTooLarge } from '../errors.js';
import { AgentId } from '../events/schemas/common.js';
import { isStorableText, NOT_STORABLE, parseInput } from '../validation.js';

/** Where a value stops being JSON, and why. */
export interface NotJson {
  readonly path: readonly (string | number)[];
  readonly reason: string;
}

/** Deeper values break JSON.stringify's recursion and Postgres' jsonb nesting limits. */
export const MAX_DEPTH = 1000;

const isPlainObject = (v: object): boolean => {
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
};

/**
 * Finds the first part of `value` that would not survive a JSON round trip unchanged:
 * functions, bigints, symbols, `undefined` (also as a property or array hole), non-finite
 * numbers, class instances (Date, Map, ...), cycles, and U+0000 or unpaired surrogates, which
 * Postgres JSON cannot hold. Pure; walks iteratively so deep values cannot overflow the stack.
 */
export function findNonJson(value: unknown): NotJson | null {
  // Frames link to their parent instead of copying paths, so depth costs O(depth), not O(depth²).
  interface Frame { readonly v: unknown; readonly parent: Frame | null; readonly key: string | number | null; readonly depth: number; readonly exit?: object }
  const pathOf = (f: Frame | null, extra?: string | number): (string | number)[] => {
    const out: (string | number)[] = extra === undefined ? [] : [extra];
    for (let x = f; x && x.key !== null; x = x.parent) out.push(x.key);
    return out.reverse();
  };
  const fail = (f: Frame | null, reason: string, extra?: string | number): NotJson => ({ path: pathOf(f, extra), reason });
  const onPath = new Set<object>();
  const stack: Frame[] = [{ v: value, parent: null, key: null, depth: 0 }];
  while (stack.length > 0) {
    const f = stack.pop()!;
    if (f.exit) {
      onPath.delete(f.exit);
      continue;
    }
    const v = f.v;
    switch (typeof v) {
      case 'string':
        if (!isStorableText(v)) return fail(f, NOT_STORABLE);
        continue;
      case 'boolean':
        continue;
      case 'number':
        if (!Number.isFinite(v)) return fail(f, `${v} is not a JSON number`);
        continue;
      case 'undefined':
        return fail(f, 'undefined is not JSON (use null or leave the field out)');
      case 'function':
        return fail(f, 'functions are not JSON');
      case 'bigint':
        return fail(f, 'bigint is not JSON (send it as a string)');
      case 'symbol':
        return fail(f, 'symbols are not JSON');
      case 'object':
        break;
    }
    if (v === null) continue;
    const obj = v as object;
    if (onPath.has(obj)) return fail(f, 'cyclic reference');
    if (f.depth >= MAX_DEPTH) return fail(f, `nested deeper than ${MAX_DEPTH} levels`);
    if (Array.isArray(obj)) {
      onPath.add(obj);
      stack.push({ v: null, parent: null, key: null, depth: 0, exit: obj });
      for (let i = obj.length - 1; i >= 0; i--) {
        if (!(i in obj)) return fail(f, 'array hole (undefined) is not JSON', i);
        stack.push({ v: obj[i], parent: f, key: i, depth: f.depth + 1 });
      }
      continue;
    }
    if (!isPlainObject(obj)) return fail(f, `${(obj as { constructor?: { name?: string } }).constructor?.name ?? 'object'} instances are not plain JSON (convert to a plain object or string)`);
    if (Object.getOwnPropertySymbols(obj).length > 0) return fail(f, 'symbol keys are not JSON');
    onPath.add(obj);
    stack.push({ v: null, parent: null, key: null, depth: 0, exit: obj });
    const keys = Object.keys(obj);
    for (let i = keys.length - 1; i >= 0; i--) {
      const k = keys[i]!;
      if (!isStorableText(k)) return fail(f, `key ${NOT_STORABLE}`, k);
      stack.push({ v: (obj as Record<string, unknown>)[k], parent: f, key: k, depth: f.depth + 1 });
    }
  }
  return null;
}

/** A message payload: any JSON value (zod-checked with `findNonJson`, naming the bad field). */
export const JsonPayload = z.unknown().superRefine((v, ctx) => {
  const bad = findNonJson(v);
  if (bad) ctx.addIssue({ code: 'custom', path: [...bad.path], message: bad.reason });
});

export const SendOptionsSchema = z
  .object({
    priority: z.number().int().min(0).max(9).optional(),
    dedupeKey: z.string().min(1).max(200).optional(),
    timeoutMs: z.number().int().nonnegative().max(600_000).optional(),
  })
  .strict();

export const ReceiveOptionsSchema = z
  .object({
    max: z.number().int().min(1).max(1000).optional(),
    waitMs: z.number().int().nonnegative().max(600_000).optional(),
    ack: z.boolean().optional(),
  })
  .strict();

export const PeekOptionsSchema = z.object({ limit: z.number().int().min(1).max(1000).optional() }).strict();

export const RecipientSchema = AgentId;

const encoder = new TextEncoder();

/**
 * Validates a payload at the boundary and returns its JSON text and size.
 * Throws `InvalidInput` naming the offending field (e.g. `payload.items[2].at`) or
 * `MessageTooLarge`.
 *
 * @example
 * const { bytes } = checkPayload({ task: 'review', files: ['a.ts'] }, 256 * 1024);
 */
export function checkPayload(payload: unknown, maxBytes: number): { json: string; bytes: number } {
  parseInput(JsonPayload, payload, 'payload');
  const json = JSON.stringify(payload);
  const bytes = encoder.encode(json).length;
  if (bytes > maxBytes) throw new MessageTooLarge(bytes, maxBytes);
  return { json, bytes };
}
