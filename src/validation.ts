import { z } from 'zod';
import { InvalidInput } from './errors.js';
import { hasInvisible } from './infra/invisibleText.js';

/**
 * A UTF-16 surrogate without its partner. JavaScript strings can hold one; UTF-8, JSON in
 * Postgres and most tools cannot ("invalid input syntax for type json").
 */
export const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Whether a string can be stored as JSON in Postgres: no U+0000, no unpaired surrogate. */
export const isStorableText = (s: string): boolean => !s.includes('\u0000') && !LONE_SURROGATE.test(s);

export const NOT_STORABLE = 'contains U+0000 or an unpaired UTF-16 surrogate, which cannot be stored';

/** Free text from a caller that will be stored (roles, tasks, reasons), refused naming the field when it cannot be. */
export const storableText = (max: number) => z.string().max(max).refine(isStorableText, NOT_STORABLE);

// eslint-disable-next-line no-control-regex
const CONTROL = /[\x00-\x1f\x7f-\x9f]/;

/**
 * A name shown on one line among others (a role): no line break, tab, other control character,
 * bidirectional control or other invisible character. A role with a newline drew fake rows under it in `cadre tree` and
 * the live lines, from the CLI or a model's spawn_agent (an attacker's try).
 */
export const oneLineName = (max: number) =>
  z.string().trim().min(1, 'is required').max(max).refine(isStorableText, NOT_STORABLE)
    .refine((s) => !CONTROL.test(s), 'must be one line: no line breaks, tabs or control characters')
    // `reviewerㅤ` (a Hangul filler) looked like `reviewer` (an attacker's try).
    .refine((s) => !hasInvisible(s), 'must not hold invisible characters (zero-width, bidirectional, fillers)');

/** Joins a zod issue path into the dotted/indexed form users see, e.g. `graph.nodes[2].id`. */
export function formatPath(root: string, path: readonly PropertyKey[]): string {
  let out = root;
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out === '' ? String(key) : `.${String(key)}`;
  }
  return out === '' ? 'input' : out;
}

/**
 * Parses untrusted input with a zod schema; on failure throws `InvalidInput` naming the first
 * offending field (all issues are kept in the message).
 *
 * @example
 * const spawn = parseInput(SpawnConfigSchema, userValue, 'spawn');
 */
export function parseInput<S extends z.ZodType>(schema: S, value: unknown, root = ''): z.infer<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issues = result.error.issues;
  const first = issues[0];
  const field = first ? formatPath(root, first.path) : root || 'input';
  // The error names the first field already ("invalid id: ..."): its own issue follows without it,
  // each further one with its field ("invalid id: id: must be ..." read like a stutter).
  const reason = issues.map((i, n) => (n > 0 ? `${formatPath(root, i.path)}: ${i.message}` : i.message)).join('; ');
  throw new InvalidInput(field, reason, { cause: result.error });
}
