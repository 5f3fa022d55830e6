import { randomUUID } from 'node:crypto';
import type { EventToAppend, RecordedEvent } from '../../src/events/envelope.js';

/** A well-formed event with a fresh id, for store tests. */
export function testEvent(type = 'TestHappened', data: unknown = { n: 1 }, id: string = randomUUID()): EventToAppend {
  return {
    id,
    type,
    data,
    metadata: { correlationId: 'corr-1', causationId: 'cause-1', schemaVersion: 1, at: '2026-01-01T00:00:00.000Z' },
  };
}

/** An event as a store returns it, written at `schemaVersion`: what an upcaster test reads. */
export const recordedEvent = (type: string, schemaVersion: number, data: unknown): RecordedEvent => ({
  id: '00000000-0000-4000-8000-000000000001',
  type,
  data,
  metadata: { correlationId: 'root', causationId: 'agent:c1', schemaVersion, at: '2026-11-23T22:59:44.432Z' },
  streamId: 'agent-root',
  revision: 3n,
  position: 9n,
});

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
