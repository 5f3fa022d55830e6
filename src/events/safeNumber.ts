import { InvalidInput } from '../errors.js';

const LIMIT = 2n ** 53n;

/**
 * A revision or position as the API returns it: a plain number, so results are JSON as they are.
 * Exact below 2^53; at or above it the value would be rounded, so it is refused naming `field`.
 *
 * @example
 * toSafeNumber(41n, 'revision')        // 41
 * toSafeNumber(2n ** 53n, 'position')  // throws InvalidInput: invalid position: …
 */
export function toSafeNumber(value: bigint, field: string): number {
  if (value >= LIMIT || value <= -LIMIT) throw new InvalidInput(field, `${value} is 2^53 or more and would be rounded as a number; read it as a bigint through the event store (createEventStore)`);
  return Number(value);
}

/**
 * A revision or position the API was given, as the store's bigint: a safe integer number or a
 * bigint. A float, NaN, infinity or a number at or above 2^53 (already rounded) is refused
 * naming `field` (BigInt() would throw a bare RangeError, or silently take the rounded value).
 *
 * @example
 * revisionArg(7, 'toRevision')   // 7n
 * revisionArg(7n, 'toRevision')  // 7n
 */
export function revisionArg(value: unknown, field: string): bigint {
  if (typeof value === 'bigint') return value;
  if (typeof value === 'number' && Number.isSafeInteger(value)) return BigInt(value);
  if (typeof value === 'number' && Number.isInteger(value)) throw new InvalidInput(field, `${value} is 2^53 or more, where numbers are no longer exact: pass it as a bigint`);
  throw new InvalidInput(field, 'must be an integer (a number or a bigint)');
}
