import { randomUUID } from 'node:crypto';
import type { EventToAppend } from '../../src/events/envelope.js';

/** A well-formed event with a fresh id, for store tests. */
export function testEvent(type = 'TestHappened', data: unknown = { n: 1 }, id: string = randomUUID()): EventToAppend {
  return {
    id,
    type,
    data,
    metadata: { correlationId: 'corr-1', causationId: 'cause-1', schemaVersion: 1, at: '2026-01-01T00:00:00.000Z' },
  };
}

export const testEvents = (n: number, type = 'TestHappened'): EventToAppend[] =>
  Array.from({ length: n }, (_, i) => testEvent(type, { i }));

/** Collects `count` events from an async iterable, failing after `timeoutMs`. */
export async function take<T>(it: AsyncIterable<T>, count: number, timeoutMs = 10_000): Promise<T[]> {
  const out: T[] = [];
  if (count === 0) return out;
  const iterator = it[Symbol.asyncIterator]();
  const deadline = Date.now() + timeoutMs;
  while (out.length < count) {
    const left = deadline - Date.now();
    if (left <= 0) throw new Error(`timed out after ${timeoutMs} ms with ${out.length} of ${count}`);
    let timer: NodeJS.Timeout | undefined;
    const next = await Promise.race([
      iterator.next(),
      new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), left))),
    ]);
    clearTimeout(timer);
    if (next === 'timeout') throw new Error(`timed out after ${timeoutMs} ms with ${out.length} of ${count}`);
    if (next.done) break;
    out.push(next.value);
  }
  return out;
}
