import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { randomUUID } from 'node:crypto';
import type { EventStore } from '../../src/events/eventStore.js';
import { committedHead } from '../../src/events/committedHead.js';
import { appendChain, NotAppended } from '../../src/events/appendChain.js';
import type { AppendResult, RecordedEvent } from '../../src/events/envelope.js';
import { IdempotencyConflict, InvalidInput, WrongExpectedRevision } from '../../src/errors.js';
import { take, testEvent, testEvents } from '../support/events.js';

export interface ContractTarget {
  readonly name: string;
  /** A store on storage no other test uses. `positionOffset` is honoured where the adapter can. */
  open(options?: { positionOffset?: bigint }): Promise<EventStore>;
  /** Why positions past 2^53 cannot be forced on this adapter, if they cannot. */
  readonly noPositionOffset?: string;
  /**
   * Why this adapter deduplicates event ids only per stream, if it does (KurrentDB: no index by
   * event id). Then a retry the server answers as a success may report `idempotent: false`, the
   * same ids in another stream are not refused, and the same ids at an impossible revision may be
   * refused as `WrongExpectedRevision` rather than `IdempotencyConflict`. Everything else holds.
   */
  readonly perStreamIdempotency?: string;
}

const stream = (): string => `agent-${randomUUID()}`;

/**
 * The event store contract: every adapter of the port must pass it unchanged.
 * (STYLE.md: one contract suite per port, run against every adapter.)
 */
export function eventStoreContract(target: ContractTarget): void {
  const perStream = target.perStreamIdempotency !== undefined;
  /** A retry answers the original result with `idempotent: true` (the flag is not asserted where ids are deduplicated per stream only). */
  const expectRetryOf = (actual: AppendResult, original: AppendResult): void => {
    if (perStream) expect(actual).toMatchObject({ nextExpectedRevision: original.nextExpectedRevision, position: original.position });
    else expect(actual).toEqual({ ...original, idempotent: true });
  };
  describe(`event store contract: ${target.name}`, () => {
    if (perStream) console.log(`[contract ${target.name}] event ids deduplicated per stream only: ${target.perStreamIdempotency}`);
    let store: EventStore;
    beforeAll(async () => {
      store = await target.open();
    });
    afterAll(async () => {
      await store?.close();
    });

    describe('expected revision', () => {
      it('no_stream creates a stream from revision 0 and refuses an existing one', async () => {
        const s = stream();
        const r = await store.append(s, testEvents(3), { expectedRevision: 'no_stream' });
        expect(r.nextExpectedRevision).toBe(2n);
        expect(r.idempotent).toBe(false);
        const err = await store.append(s, testEvents(1), { expectedRevision: 'no_stream' }).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(WrongExpectedRevision);
        expect((err as WrongExpectedRevision).actual).toBe(2n);
      });

      it('stream_exists refuses a missing stream and accepts an existing one', async () => {
        const s = stream();
        const err = await store.append(s, testEvents(1), { expectedRevision: 'stream_exists' }).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(WrongExpectedRevision);
        expect((err as WrongExpectedRevision).actual).toBe('no_stream');
        await store.append(s, testEvents(1), { expectedRevision: 'no_stream' });
        const r = await store.append(s, testEvents(2), { expectedRevision: 'stream_exists' });
        expect(r.nextExpectedRevision).toBe(2n);
      });

      it('an exact revision must match the last event', async () => {
        const s = stream();
        await store.append(s, testEvents(2), { expectedRevision: 'no_stream' });
        const r = await store.append(s, testEvents(1), { expectedRevision: 1n });
        expect(r.nextExpectedRevision).toBe(2n);
        for (const wrong of [0n, 1n, 3n, 100n]) {
          const err = await store.append(s, testEvents(1), { expectedRevision: wrong }).catch((e: unknown) => e);
          expect(err).toBeInstanceOf(WrongExpectedRevision);
          expect((err as WrongExpectedRevision).actual).toBe(2n);
        }
        const missing = await store.append(stream(), testEvents(1), { expectedRevision: 0n }).catch((e: unknown) => e);
        expect(missing).toBeInstanceOf(WrongExpectedRevision);
      });

      it('any appends whatever the state', async () => {
        const s = stream();
        expect((await store.append(s, testEvents(1), { expectedRevision: 'any' })).nextExpectedRevision).toBe(0n);
        expect((await store.append(s, testEvents(2), { expectedRevision: 'any' })).nextExpectedRevision).toBe(2n);
      });

      it('of four concurrent writers at one revision exactly one wins', async () => {
        const s = stream();
        await store.append(s, testEvents(1), { expectedRevision: 'no_stream' });
        const results = await Promise.allSettled(
          [0, 1, 2, 3].map(() => store.append(s, testEvents(1), { expectedRevision: 0n })),
        );
        expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
        for (const r of results.filter((r) => r.status === 'rejected')) {
          expect((r as PromiseRejectedResult).reason).toBeInstanceOf(WrongExpectedRevision);
        }
        expect(await store.readStream(s)).toHaveLength(2);
      });

      it('of many concurrent appends, each stands or falls on its own', async () => {
        // Fired at once they may share one round trip and commit (group commit): a refused one
        // or an idempotent retry among them must not change what happens to the others.
        const existing = stream();
        const first = testEvents(2);
        await store.append(existing, first, { expectedRevision: 'no_stream' });
        const fresh = Array.from({ length: 30 }, () => stream());
        const outcomes = await Promise.allSettled([
          ...fresh.map((s) => store.append(s, testEvents(2), { expectedRevision: 'no_stream' })),
          store.append(existing, testEvents(1), { expectedRevision: 0n }),
          store.append(existing, testEvents(1), { expectedRevision: 'no_stream' }),
          store.append(existing, first, { expectedRevision: 'no_stream' }),
          store.append(stream(), [first[0]!], { expectedRevision: 'no_stream' }),
        ]);
        const [wrongRevision, streamExists, retry, idConflict] = outcomes.slice(30);
        expect(outcomes.slice(0, 30).every((o) => o.status === 'fulfilled' && o.value.nextExpectedRevision === 1n && !o.value.idempotent)).toBe(true);
        expect(wrongRevision).toMatchObject({ status: 'rejected', reason: expect.any(WrongExpectedRevision) });
        expect(((wrongRevision as PromiseRejectedResult).reason as WrongExpectedRevision).actual).toBe(1n);
        expect(streamExists).toMatchObject({ status: 'rejected', reason: expect.any(WrongExpectedRevision) });
        expect(retry).toMatchObject({ status: 'fulfilled', value: perStream ? { nextExpectedRevision: 1n } : { idempotent: true, nextExpectedRevision: 1n } });
        if (!perStream) expect(idConflict).toMatchObject({ status: 'rejected', reason: expect.any(IdempotencyConflict) });
        for (const s of fresh) expect((await store.readStream(s)).map((e) => e.revision)).toEqual([0n, 1n]);
        expect((await store.readStream(existing)).map((e) => e.id)).toEqual(first.map((e) => e.id));
      });

      it('concurrent writers with any all land, gap-free', async () => {
        const s = stream();
        await Promise.all(Array.from({ length: 8 }, () => store.append(s, testEvents(2), { expectedRevision: 'any' })));
        const events = await store.readStream(s);
        expect(events.map((e) => e.revision)).toEqual(Array.from({ length: 16 }, (_, i) => BigInt(i)));
      });
    });

    describe('reading', () => {
      it('reads a stream forwards and backwards, from a revision, with a limit', async () => {
        const s = stream();
        await store.append(s, testEvents(10), { expectedRevision: 'no_stream' });
        const all = await store.readStream(s);
        expect(all.map((e) => (e.data as { i: number }).i)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
        expect(all.every((e) => e.streamId === s)).toBe(true);
        const fwd = await store.readStream(s, { from: 3n, limit: 4 });
        expect(fwd.map((e) => e.revision)).toEqual([3n, 4n, 5n, 6n]);
        const back = await store.readStream(s, { direction: 'backwards', limit: 3 });
        expect(back.map((e) => e.revision)).toEqual([9n, 8n, 7n]);
        const backFrom = await store.readStream(s, { direction: 'backwards', from: 2n });
        expect(backFrom.map((e) => e.revision)).toEqual([2n, 1n, 0n]);
        expect(await store.readStream(stream())).toEqual([]);
      });

      it('keeps ids, types, data and metadata exactly', async () => {
        const s = stream();
        const e = testEvent('Exact', { nested: { a: [1, 'two', null, true] }, n: 1.5 });
        await store.append(s, [e], { expectedRevision: 'no_stream' });
        const [read] = await store.readStream(s);
        expect(read).toMatchObject({ id: e.id, type: 'Exact', data: e.data, metadata: e.metadata, streamId: s, revision: 0n });
        expect(typeof read!.position).toBe('bigint');
      });

      it('readAll returns events in strictly increasing position after fromPosition, with a limit', async () => {
        const s1 = stream();
        const s2 = stream();
        const a = await store.append(s1, testEvents(3), { expectedRevision: 'no_stream' });
        await store.append(s2, testEvents(3), { expectedRevision: 'no_stream' });
        let head = await store.headPosition();
        // Up to 30 s: another test file on the server may hold a transaction open that long
        // (readAgentTree and postgresOrdering do, on purpose); 2 s failed a suite run.
        for (let i = 0; i < 1500 && head < a.position; i++) {
          await new Promise((r) => setTimeout(r, 20));
          head = await store.headPosition();
        }
        expect(head).toBeGreaterThanOrEqual(a.position);
        // readAll shows only transactions older than every open one, so on a database shared
        // with other writers our own events may take a moment to become readable.
        let page = await store.readAll({ fromPosition: a.position, limit: 2 });
        for (let i = 0; i < 1500 && page.length < 2; i++) {
          await new Promise((r) => setTimeout(r, 20));
          page = await store.readAll({ fromPosition: a.position, limit: 2 });
        }
        expect(page).toHaveLength(2);
        expect(page.every((e) => e.position > a.position)).toBe(true);
        expect(page[0]!.position < page[1]!.position).toBe(true);
        expect(page.map((e) => e.streamId)).toEqual([s2, s2]);
        const everything = await store.readAll({ limit: 100_000 });
        for (let i = 1; i < everything.length; i++) expect(everything[i]!.position > everything[i - 1]!.position).toBe(true);
      });
    });

    describe('chained appends (appendChain: the adapter\'s own, or one by one)', () => {
      it('the committed head counts an append at once, never behind the head a subscriber sees', async () => {
        const a = await store.append(stream(), testEvents(2), { expectedRevision: 'no_stream' });
        const committed = await committedHead(store);
        expect(committed).toBeGreaterThanOrEqual(a.position);
        expect(committed).toBeGreaterThanOrEqual(await store.headPosition());
      });

      it('stores every append in order when each is accepted', async () => {
        const [a, b] = [stream(), stream()];
        await store.append(a, testEvents(1), { expectedRevision: 'no_stream' });
        const out = await appendChain(store, [
          { streamId: a, events: testEvents(2), expectedRevision: 0n },
          { streamId: b, events: testEvents(3), expectedRevision: 'no_stream' },
        ]);
        expect(out.map((o) => o.ok)).toEqual([true, true]);
        const [first, second] = out.map((o) => (o.ok ? o.value : null));
        expect(first!.nextExpectedRevision).toBe(2n);
        expect(second!.nextExpectedRevision).toBe(2n);
        expect(second!.position).toBeGreaterThan(first!.position);
        expect(await store.readStream(a)).toHaveLength(3);
        expect(await store.readStream(b)).toHaveLength(3);
      });

      it('an append after a refused one is not tried: nothing of it is stored', async () => {
        const [a, b] = [stream(), stream()];
        await store.append(a, testEvents(1), { expectedRevision: 'no_stream' });
        const out = await appendChain(store, [
          { streamId: a, events: testEvents(1), expectedRevision: 5n },
          { streamId: b, events: testEvents(1), expectedRevision: 'no_stream' },
        ]);
        expect(out[0]!.ok ? null : out[0]!.error).toBeInstanceOf(WrongExpectedRevision);
        expect(out[1]!.ok ? null : out[1]!.error).toBeInstanceOf(NotAppended);
        expect(await store.readStream(b)).toEqual([]);
        expect(await store.readStream(a)).toHaveLength(1);
      });

      it('a retried first append (already stored) lets the next one go; a refused later one leaves the earlier stored', async () => {
        const [a, b] = [stream(), stream()];
        const first = testEvents(2);
        await store.append(a, first, { expectedRevision: 'no_stream' });
        await store.append(b, testEvents(1), { expectedRevision: 'no_stream' });
        const out = await appendChain(store, [
          { streamId: a, events: first, expectedRevision: 'no_stream' },
          { streamId: b, events: testEvents(1), expectedRevision: 'no_stream' },
        ]);
        expect(out[0]!.ok).toBe(true);
        expect(out[1]!.ok ? null : out[1]!.error).toBeInstanceOf(WrongExpectedRevision);
        expect(await store.readStream(a)).toHaveLength(2);
        expect(await store.readStream(b)).toHaveLength(1);
      });

      it('chains and single appends sent at once each keep their own all-or-nothing (an adapter may share a commit among them)', async () => {
        // Every third chain's first append is refused; the rest are accepted. A store that lays
        // concurrent chains end to end in one commit must not let a refusal skip a neighbour's
        // appends, nor a neighbour's acceptance carry a refused chain's later appends.
        const chains = Array.from({ length: 24 }, (_, i) => ({ refused: i % 3 === 0, heads: [stream(), stream()], single: stream() }));
        await Promise.all(chains.filter((c) => c.refused).map((c) => store.append(c.heads[0]!, testEvents(1), { expectedRevision: 'no_stream' })));
        const results = await Promise.all(chains.map(async (c) => ({
          chain: await appendChain(store, [
            { streamId: c.heads[0]!, events: testEvents(2), expectedRevision: 'no_stream' },
            { streamId: c.heads[1]!, events: testEvents(1), expectedRevision: 'no_stream' },
          ]),
          single: await store.append(c.single, testEvents(1), { expectedRevision: 'no_stream' }),
        })));
        for (const [i, c] of chains.entries()) {
          const [head, tail] = results[i]!.chain;
          if (c.refused) {
            expect(head!.ok ? null : head!.error).toBeInstanceOf(WrongExpectedRevision);
            expect(tail!.ok ? null : tail!.error).toBeInstanceOf(NotAppended);
            expect(await store.readStream(c.heads[0]!)).toHaveLength(1);
            expect(await store.readStream(c.heads[1]!)).toEqual([]);
          } else {
            expect([head!.ok, tail!.ok]).toEqual([true, true]);
            expect(await store.readStream(c.heads[0]!)).toHaveLength(2);
            expect(await store.readStream(c.heads[1]!)).toHaveLength(1);
          }
          expect(results[i]!.single.nextExpectedRevision).toBe(0n);
          expect(await store.readStream(c.single)).toHaveLength(1);
        }
      });
    });

    describe('idempotency', () => {
      it('re-appending the same ids at the same expected revision writes nothing', async () => {
        const s = stream();
        const batch = testEvents(3);
        const first = await store.append(s, batch, { expectedRevision: 'no_stream' });
        const again = await store.append(s, batch, { expectedRevision: 'no_stream' });
        expectRetryOf(again, first);
        const more = testEvents(2);
        const second = await store.append(s, more, { expectedRevision: 2n });
        expectRetryOf(await store.append(s, more, { expectedRevision: 2n }), second);
        expectRetryOf(await store.append(s, more, { expectedRevision: 'any' }), second);
        expect(await store.readStream(s)).toHaveLength(5);
      });

      it('the same ids elsewhere or in another shape are refused', async () => {
        const s = stream();
        const batch = testEvents(2);
        await store.append(s, batch, { expectedRevision: 'no_stream' });
        if (!perStream) await expect(store.append(stream(), batch, { expectedRevision: 'no_stream' })).rejects.toBeInstanceOf(IdempotencyConflict);
        await expect(store.append(s, [batch[0]!], { expectedRevision: 'any' })).resolves.toMatchObject(perStream ? { nextExpectedRevision: 0n } : { idempotent: true });
        await expect(store.append(s, [batch[0]!, testEvent()], { expectedRevision: 'any' })).rejects.toBeInstanceOf(IdempotencyConflict);
        const misplaced = await store.append(s, batch, { expectedRevision: 5n }).catch((e: unknown) => e);
        if (perStream) expect(misplaced instanceof IdempotencyConflict || misplaced instanceof WrongExpectedRevision).toBe(true);
        else expect(misplaced).toBeInstanceOf(IdempotencyConflict);
        expect(await store.readStream(s)).toHaveLength(2);
      });
    });

    describe('payloads and input', () => {
      it('stores large and unicode payloads intact', async () => {
        const s = stream();
        const big = { text: 'x'.repeat(1_000_000), list: Array.from({ length: 5000 }, (_, i) => ({ i })) };
        const uni = { text: 'héllo 世界 🚀 \u202e rtl \ud83d\udc69\u200d\ud83d\udcbb', quote: `'; DROP TABLE events; --`, ctrl: '\t\n\r\u0001', escapedNul: 'the text \\u0000 is not a NUL', deep: { k: ['\\\\u0000'] } };
        await store.append(s, [testEvent('Big', big), testEvent('Uni', uni)], { expectedRevision: 'no_stream' });
        const [b, u] = await store.readStream(s);
        expect(b!.data).toEqual(big);
        expect(u!.data).toEqual(uni);
      });

      it('refuses malformed input naming the field, writing nothing', async () => {
        const s = stream();
        const bad: Array<[unknown, string]> = [
          [[{ ...testEvent(), id: 'not-a-uuid' }], 'events[0].id'],
          [[{ ...testEvent(), type: '' }], 'events[0].type'],
          [[{ ...testEvent(), metadata: { correlationId: 'c' } }], 'events[0].metadata'],
          [[testEvent('T', { s: 'nul\u0000byte' })], 'events[0].data'],
        ];
        for (const [events, field] of bad) {
          const err = await store.append(s, events as never, { expectedRevision: 'any' }).catch((e: unknown) => e);
          expect(err, field).toBeInstanceOf(InvalidInput);
          expect((err as InvalidInput).field.startsWith(field), `${(err as InvalidInput).field} names ${field}`).toBe(true);
        }
        const dup = testEvent();
        await expect(store.append(s, [dup, dup], { expectedRevision: 'any' })).rejects.toBeInstanceOf(InvalidInput);
        await expect(store.append('', testEvents(1), { expectedRevision: 'any' })).rejects.toBeInstanceOf(InvalidInput);
        expect(await store.readStream(s)).toEqual([]);
      });
    });

    it('bigint positions past 2^53 survive the round trip', async (ctx) => {
      if (target.noPositionOffset) {
        console.log(`[contract ${target.name}] positions past 2^53 not forced: ${target.noPositionOffset}`);
        ctx.skip();
      }
      const big = await target.open({ positionOffset: 2n ** 53n + 7n });
      try {
        const s = stream();
        const r = await big.append(s, testEvents(3), { expectedRevision: 'no_stream' });
        expect(r.position > 2n ** 53n).toBe(true);
        const read = await big.readStream(s);
        expect(read.map((e) => e.position)).toEqual([r.position - 2n, r.position - 1n, r.position]);
        // Polled: $all shows a commit once no older transaction is open, server-wide on Postgres,
        // and another test's open transaction can hide it for a moment.
        await expect.poll(async () => (await big.readAll({ fromPosition: read[0]!.position, limit: 10 })).map((e) => e.position), { timeout: 10_000 }).toEqual([r.position - 1n, r.position]);
        const sub = big.subscribeToAll({ fromPosition: read[1]!.position });
        expect((await take(sub, 1))[0]!.position).toBe(r.position);
        await sub.close();
      } finally {
        await big.close();
      }
    });

    describe('subscriptions', () => {
      it('catches up from a position, then goes live', async () => {
        const s = stream();
        const first = await store.append(s, testEvents(5), { expectedRevision: 'no_stream' });
        const sub = store.subscribeToAll({ fromPosition: first.position, streamPrefixes: [s] });
        const pending = take(sub, 3);
        await store.append(s, testEvents(3), { expectedRevision: first.nextExpectedRevision });
        const got = await pending;
        expect(got.map((e) => e.revision)).toEqual([5n, 6n, 7n]);
        await sub.close();
      });

      it('filters by stream prefix', async () => {
        const prefix = `wf-${randomUUID()}-`;
        const sub = store.subscribeToAll({ fromPosition: await store.headPosition(), streamPrefixes: [prefix] });
        const pending = take(sub, 2);
        await store.append(stream(), testEvents(2), { expectedRevision: 'no_stream' });
        await store.append(`${prefix}a`, testEvents(1), { expectedRevision: 'no_stream' });
        await store.append(`${prefix}b`, testEvents(1), { expectedRevision: 'no_stream' });
        expect((await pending).map((e) => e.streamId)).toEqual([`${prefix}a`, `${prefix}b`]);
        await sub.close();
      });

      it('property: concurrent appenders, one live subscriber sees every event once, in order', async () => {
        await fc.assert(
          fc.asyncProperty(
            fc.array(fc.array(fc.record({ size: fc.integer({ min: 1, max: 5 }), delayMs: fc.integer({ min: 0, max: 5 }) }), { minLength: 1, maxLength: 6 }), { minLength: 2, maxLength: 6 }),
            async (writers) => {
              const prefix = `prop-${randomUUID()}-`;
              const expectedCount = writers.flat().reduce((n, b) => n + b.size, 0);
              const sub = store.subscribeToAll({ fromPosition: await store.headPosition(), streamPrefixes: [prefix] });
              const received = take(sub, expectedCount, 20_000);
              await Promise.all(
                writers.map(async (batches, w) => {
                  for (const b of batches) {
                    await new Promise((r) => setTimeout(r, b.delayMs));
                    await store.append(`${prefix}${w % 3}`, testEvents(b.size), { expectedRevision: 'any' });
                  }
                }),
              );
              const got: RecordedEvent[] = await received;
              await sub.close();
              expect(new Set(got.map((e) => e.id)).size).toBe(expectedCount);
              for (let i = 1; i < got.length; i++) expect(got[i]!.position > got[i - 1]!.position).toBe(true);
              const streams = new Map<string, bigint[]>();
              for (const e of got) streams.set(e.streamId, [...(streams.get(e.streamId) ?? []), e.revision]);
              for (const revs of streams.values()) expect(revs).toEqual(revs.map((_, i) => BigInt(i)));
            },
          ),
          { numRuns: 15 },
        );
      });
    });
  });
}
