import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { inspect } from 'node:util';
import { AccessDeniedError, UnknownError, WrongExpectedVersionError } from '@kurrent/kurrentdb-client';
import { IdempotencyConflict, InvalidInput, StoreUnavailable, WrongExpectedRevision } from '../../src/errors.js';
import type { Logger } from '../../src/actors/ports/runtimePorts.js';
import { eventStoreDbStoreOn, openEventStoreDbStore } from '../../src/events/stores/eventstoredb/eventStoreDbStore.js';
import type { EventStoreDbStore } from '../../src/events/stores/eventstoredb/eventStoreDbStore.js';
import { FakeKurrentClient } from '../support/fakeKurrentClient.js';
import { testEvent, testEvents } from '../support/events.js';

const metadata = testEvent().metadata;

function recordingLogger(): Logger & { warnings: Array<{ obj: object; msg?: string }> } {
  const warnings: Array<{ obj: object; msg?: string }> = [];
  const logger = {
    warnings,
    debug: () => {},
    info: () => {},
    warn: (obj: object, msg?: string) => void warnings.push({ obj, ...(msg !== undefined ? { msg } : {}) }),
    error: () => {},
    child: () => logger,
  };
  return logger;
}

function setup(options: { readConcurrency?: number; streamPrefixes?: string[] } = {}): { fake: FakeKurrentClient; store: EventStoreDbStore; logger: ReturnType<typeof recordingLogger> } {
  const fake = new FakeKurrentClient();
  const logger = recordingLogger();
  return { fake, logger, store: eventStoreDbStoreOn(fake, { logger, ...options }) };
}

/** The next value of a subscription, or the error it fails with. */
async function nextOf<T>(it: AsyncIterator<T>): Promise<IteratorResult<T> | unknown> {
  return it.next().catch((e: unknown) => e);
}

describe('eventstoredb store: appends without claim streams (item 1)', () => {
  it('an append is one append and one read-back, and writes only the stream it names', async () => {
    const { fake, store } = setup();
    const r = await store.append('agent-1', testEvents(3), { expectedRevision: 'no_stream' });
    expect(r).toMatchObject({ nextExpectedRevision: 2n, idempotent: false });
    expect(fake.calls.map((c) => c.op)).toEqual(['appendToStream', 'readStream']);
    expect(new Set(fake.log.map((x) => x.record.streamId))).toEqual(new Set(['agent-1']));
    const [last] = await store.readStream('agent-1', { from: 2n });
    expect(r.position).toBe(last!.position);
  });

  it('a retry the server deduplicates answers with the original revision and position and writes nothing', async () => {
    const { fake, store } = setup();
    const batch = testEvents(2);
    const first = await store.append('agent-1', batch, { expectedRevision: 'no_stream' });
    const again = await store.append('agent-1', batch, { expectedRevision: 'no_stream' });
    expect(again).toMatchObject({ nextExpectedRevision: first.nextExpectedRevision, position: first.position });
    expect(fake.log).toHaveLength(2);
  });

  it('a refused append whose batch is already stored where it was meant to go is idempotent', async () => {
    const { fake, store } = setup();
    const batch = testEvents(2);
    const first = await store.append('agent-1', batch, { expectedRevision: 'no_stream' });
    await store.append('agent-1', testEvents(1), { expectedRevision: 1n });
    // The server refuses a retry it did not match (it raced its first try): the adapter reads at
    // expected + 1 and finds the batch there.
    fake.failNext.set('appendToStream', new WrongExpectedVersionError(undefined, { streamName: 'agent-1', expected: 'no_stream', current: 2n }));
    const retry = await store.append('agent-1', batch, { expectedRevision: 'no_stream' });
    expect(retry).toEqual({ ...first, idempotent: true });
    const reads = fake.calls.filter((c) => c.op === 'readStream');
    expect(reads.at(-1)!.options).toMatchObject({ fromRevision: 0n, maxCount: 2, requiresLeader: true });
  });

  it('part of the batch stored in another shape is an IdempotencyConflict; nothing there is a plain WrongExpectedRevision', async () => {
    const { fake, store } = setup();
    const batch = testEvents(2);
    await store.append('agent-1', batch, { expectedRevision: 'no_stream' });
    await expect(store.append('agent-1', [batch[0]!, testEvent()], { expectedRevision: 'no_stream' })).rejects.toBeInstanceOf(IdempotencyConflict);
    await expect(store.append('agent-1', [batch[0]!, testEvent()], { expectedRevision: 'any' })).rejects.toBeInstanceOf(IdempotencyConflict);
    const refused = await store.append('agent-1', testEvents(1), { expectedRevision: 'no_stream' }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(WrongExpectedRevision);
    expect(refused).toMatchObject({ actual: 1n });
    const missing = await store.append('agent-2', testEvents(1), { expectedRevision: 'stream_exists' }).catch((e: unknown) => e);
    expect(missing).toMatchObject({ actual: 'no_stream' });
    expect(missing).toBeInstanceOf(WrongExpectedRevision);
    expect(fake.log).toHaveLength(2);
  });

  it('claim streams written by earlier versions never reach reads, headPosition or subscriptions', async () => {
    const { fake, store, logger } = setup();
    const p = (await store.append('agent-1', testEvents(1), { expectedRevision: 'no_stream' })).position;
    // What the old adapter wrote: one event per id, no metadata.
    fake.put('cadre-event-id-6f1c0b54-3f4e-4a55-9d55-0d7d2f1b9a10', 'CadreEventIdClaimed', { streamId: 'agent-1', revision: '0' }, new Uint8Array());
    expect(await store.headPosition()).toBe(p);
    expect((await store.readAll()).map((e) => e.streamId)).toEqual(['agent-1']);
    const sub = store.subscribeToAll();
    const it = sub[Symbol.asyncIterator]();
    expect(await nextOf(it)).toMatchObject({ value: { streamId: 'agent-1' } });
    await sub.close();
    expect(logger.warnings).toEqual([]);
  });
});

describe('eventstoredb store: read-path errors (item 2)', () => {
  it.each(['Server-side error: status: Unavailable', 'Deadline exceeded', 'Connection is closed.', 'transport: unavailable'])('UnknownError(%j) from a read is a retryable StoreUnavailable', async (message) => {
    const { fake, store } = setup();
    await store.append('agent-1', testEvents(1), { expectedRevision: 'no_stream' });
    fake.failNext.set('readStream', new UnknownError({ message } as never));
    const err = await store.readStream('agent-1').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreUnavailable);
    expect((err as StoreUnavailable).retryable).toBe(true);
    fake.failNext.set('readAll', new UnknownError({ message } as never));
    await expect(store.readAll()).rejects.toBeInstanceOf(StoreUnavailable);
  });
});

describe('eventstoredb store: subscriptions (items 3 and 5)', () => {
  it('a subscription the server ends without an error and without close() fails with StoreUnavailable', async () => {
    const { fake, store } = setup();
    await store.append('agent-1', testEvents(1), { expectedRevision: 'no_stream' });
    fake.subscriptionEndsAfterCatchUp = true;
    const it = store.subscribeToAll()[Symbol.asyncIterator]();
    expect(await nextOf(it)).toMatchObject({ done: false });
    const err = await nextOf(it);
    expect(err).toBeInstanceOf(StoreUnavailable);
    expect((err as StoreUnavailable).retryable).toBe(true);
  });

  it('a subscription closed by its owner simply ends', async () => {
    const { store } = setup();
    await store.append('agent-1', testEvents(1), { expectedRevision: 'no_stream' });
    const sub = store.subscribeToAll();
    const it = sub[Symbol.asyncIterator]();
    await it.next();
    const pending = it.next();
    await sub.close();
    expect(await pending).toEqual({ done: true, value: undefined });
  });

  it('with no prefixes a subscription follows every non-system stream, as readAll does', async () => {
    const { fake, store } = setup();
    await store.append('agent-1', testEvents(1), { expectedRevision: 'no_stream' });
    await store.append('wf-1', testEvents(1), { expectedRevision: 'no_stream' });
    fake.put('$stats-1', '$statsCollected', {}, metadata);
    const sub = store.subscribeToAll();
    const it = sub[Symbol.asyncIterator]();
    const seen = [await it.next(), await it.next()].map((r) => (r.value as { streamId: string }).streamId);
    await sub.close();
    expect(seen).toEqual(['agent-1', 'wf-1']);
    expect((await store.readAll()).map((e) => e.streamId)).toEqual(seen);
  });

  it('prefixes named by the caller, or by the store option, still narrow it', async () => {
    const { store } = setup({ streamPrefixes: ['wf-'] });
    await store.append('agent-1', testEvents(1), { expectedRevision: 'no_stream' });
    await store.append('wf-1', testEvents(1), { expectedRevision: 'no_stream' });
    for (const [sub, want] of [[store.subscribeToAll(), 'wf-1'], [store.subscribeToAll({ streamPrefixes: ['agent-'] }), 'agent-1']] as const) {
      const first = await sub[Symbol.asyncIterator]().next();
      await sub.close();
      expect((first.value as { streamId: string }).streamId).toBe(want);
    }
  });
});

describe('eventstoredb store: readStreams (item 4)', () => {
  it('reads every stream from its own revision, at most readConcurrency at once', async () => {
    const { fake, store } = setup({ readConcurrency: 4 });
    const requests = [];
    for (let i = 0; i < 40; i++) {
      await store.append(`agent-${i}`, testEvents(3), { expectedRevision: 'no_stream' });
      requests.push({ streamId: `agent-${i}`, from: BigInt(i % 3) });
    }
    requests.push({ streamId: 'agent-missing', from: 0n });
    fake.maxInFlight = 0;
    const out = await store.readStreams(requests);
    expect(fake.maxInFlight).toBe(4);
    expect(out.size).toBe(41);
    expect(out.get('agent-missing')).toEqual([]);
    for (let i = 0; i < 40; i++) expect(out.get(`agent-${i}`)!.map((e) => e.revision)).toEqual([0n, 1n, 2n].slice(i % 3));
  });
});

describe('eventstoredb store: foreign records (item 6)', () => {
  it('a record cadre did not write is skipped and logged, and reads go on past it', async () => {
    const { fake, store, logger } = setup();
    await store.append('agent-1', testEvents(1), { expectedRevision: 'no_stream' });
    fake.put('orders-1', 'OrderPlaced', { n: 1 }, new TextEncoder().encode('not json'));
    fake.put('orders-1', 'OrderShipped', { n: 2 }, ['an', 'array']);
    await store.append('agent-2', testEvents(1), { expectedRevision: 'no_stream' });
    expect((await store.readAll()).map((e) => e.streamId)).toEqual(['agent-1', 'agent-2']);
    expect(logger.warnings.map((w) => (w.obj as { record: string }).record)).toEqual(['orders-1@0', 'orders-1@1']);
    const sub = store.subscribeToAll();
    const it = sub[Symbol.asyncIterator]();
    const seen = [await it.next(), await it.next()].map((r) => (r.value as { streamId: string }).streamId);
    await sub.close();
    expect(seen).toEqual(['agent-1', 'agent-2']);
    expect(await store.readStream('orders-1')).toEqual([]);
  });
});

describe('eventstoredb store: headPosition (item 7)', () => {
  it('pages back past links and $ events to the newest real event, 0n only for none at all', async () => {
    const { fake, store } = setup();
    expect(await store.headPosition()).toBe(0n);
    const p = (await store.append('agent-1', testEvents(1), { expectedRevision: 'no_stream' })).position;
    for (let i = 0; i < 250; i++) fake.put(`by-type-${i % 3}`, '$>', `0@agent-${i}`, metadata, { link: true });
    for (let i = 0; i < 30; i++) fake.put('agent-1', '$metadata', {}, metadata);
    expect(await store.headPosition()).toBe(p);
    const { fake: onlyLinks, store: empty } = setup();
    for (let i = 0; i < 250; i++) onlyLinks.put('by-type', '$>', `0@x-${i}`, metadata);
    expect(await empty.headPosition()).toBe(0n);
  });
});

describe('eventstoredb store: access to $all (item 8)', () => {
  it('a user who may not read $all gets a non-retryable error naming $all and the ACL', async () => {
    const { fake, store } = setup();
    fake.failNext.set('readAll', new AccessDeniedError());
    const err = await store.headPosition().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreUnavailable);
    expect((err as StoreUnavailable).retryable).toBe(false);
    expect((err as StoreUnavailable).message).toMatch(/\$all.*\$admins.*\$ops/);
    expect((err as StoreUnavailable).message).toMatch(/docs\/eventstoredb\.md/);
  });
});

describe('eventstoredb store: throwOnAppendFailure=false (item 9)', () => {
  it('a refusal the client resolves as { success: false } is a refusal, not a write', async () => {
    const { fake, store } = setup();
    fake.throwOnAppendFailure = false;
    await store.append('agent-1', testEvents(2), { expectedRevision: 'no_stream' });
    const err = await store.append('agent-1', testEvents(1), { expectedRevision: 0n }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WrongExpectedRevision);
    expect(err).toMatchObject({ expected: '0', actual: 1n });
    const missing = await store.append('agent-2', testEvents(1), { expectedRevision: 3n }).catch((e: unknown) => e);
    expect(missing).toMatchObject({ actual: 'no_stream' });
    expect(fake.log).toHaveLength(2);
  });
});

describe('eventstoredb store: secrets (item 10)', () => {
  it('a connection string the client cannot parse is refused without its password anywhere in the error', async () => {
    for (const url of ['kurrentdb://admin:s3cret@host:2113?tls=maybe', 'kurrentdb://admin:s3cret@host:abc']) {
      const err = await openEventStoreDbStore({ connectionString: url, verifyConnection: false }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(InvalidInput);
      expect((err as InvalidInput).field).toBe('connectionString');
      expect((err as InvalidInput).cause).toBeUndefined();
      expect(inspect(err, { depth: 10 })).not.toContain('s3cret');
      expect(JSON.stringify(err)).not.toContain('s3cret');
    }
  });
});

describe('eventstoredb store: leader reads (item 11)', () => {
  it('the read-back after an append and the revision of an empty append ask for the leader', async () => {
    const { fake, store } = setup();
    await store.append('agent-1', testEvents(1), { expectedRevision: 'no_stream' });
    await store.append('agent-1', [], { expectedRevision: 'any' });
    const reads = fake.calls.filter((c) => c.op === 'readStream');
    expect(reads).toHaveLength(2);
    for (const r of reads) expect(r.options.requiresLeader).toBe(true);
  });
});

describe('eventstoredb store: ids and the compose file (item 12)', () => {
  it('ids go to the server lower-case, so an upper-case retry matches what was stored', async () => {
    const { fake, store } = setup();
    const e = testEvent('Thing', { n: 1 }, crypto.randomUUID().toUpperCase());
    const first = await store.append('agent-1', [e], { expectedRevision: 'no_stream' });
    expect(fake.log[0]!.record.id).toBe(e.id.toLowerCase());
    await expect(store.append('agent-1', [e], { expectedRevision: 'no_stream' })).resolves.toMatchObject({ position: first.position });
    fake.failNext.set('appendToStream', new WrongExpectedVersionError(undefined, { streamName: 'agent-1', expected: 'no_stream', current: 0n }));
    await expect(store.append('agent-1', [e], { expectedRevision: 'no_stream' })).resolves.toEqual({ ...first, idempotent: true });
    const twice = [e, { ...testEvent(), id: e.id.toLowerCase() }];
    await expect(store.append('agent-2', twice, { expectedRevision: 'no_stream' })).rejects.toMatchObject({ field: 'events' });
  });

  it('docker-compose.yml pins a KurrentDB release, not :latest', () => {
    const compose = readFileSync(new URL('../../docker-compose.yml', import.meta.url), 'utf8');
    const image = /image: \$\{KURRENTDB_IMAGE:-([^}]+)\}/.exec(compose)?.[1];
    expect(image).toMatch(/kurrentdb:\d+\.\d+/);
    expect(image).not.toMatch(/:latest$/);
  });
});
