import { describe, expect, it } from 'vitest';
import {
  AccessDeniedError,
  MaxAppendSizeExceededError,
  StreamNotFoundError,
  UnavailableError,
  UnknownError,
  WrongExpectedVersionError,
} from '@kurrent/kurrentdb-client';
import type { AllStreamResolvedEvent } from '@kurrent/kurrentdb-client';
import { InvalidInput, StoreUnavailable, WrongExpectedRevision } from '../../src/errors.js';
import { normalizeConnectionString } from '../../src/events/stores/eventstoredb/connectionString.js';
import { isStreamNotFound, mapClientError } from '../../src/events/stores/eventstoredb/mapError.js';
import {
  LEGACY_CLAIM_STREAM_PREFIX,
  NON_SYSTEM_STREAM_REGEX,
  commitPositionOf,
  isCadreRecord,
  judgeRetry,
  toEventData,
  toReadPosition,
  toRecordedEvent,
  toStreamState,
} from '../../src/events/stores/eventstoredb/mapping.js';
import { createEventStoreDbStore } from '../../src/events/stores/eventstoredb/eventStoreDbStore.js';
import { testEvent } from '../support/events.js';

const metadata = { correlationId: 'c', causationId: 'k', schemaVersion: 1, at: '2026-01-01T00:00:00.000Z' };

function resolved(over: Partial<{ streamId: string; type: string; data: unknown; metadata: unknown; revision: bigint; commit: bigint | undefined; isJson: boolean }> = {}): AllStreamResolvedEvent {
  const commit = 'commit' in over ? over.commit : 1234n;
  return {
    event: {
      streamId: over.streamId ?? 'agent-1',
      id: '6f1c0b54-3f4e-4a55-9d55-0d7d2f1b9a10',
      isJson: over.isJson ?? true,
      revision: over.revision ?? 3n,
      type: over.type ?? 'AgentSpawned',
      created: new Date(0),
      data: over.data ?? { a: 1 },
      metadata: over.metadata ?? metadata,
      position: commit === undefined ? undefined : { commit, prepare: commit },
    },
  } as unknown as AllStreamResolvedEvent;
}

describe('eventstoredb mapping: expected revision', () => {
  it('maps each expectation to the client stream state', () => {
    expect(toStreamState('no_stream')).toBe('no_stream');
    expect(toStreamState('stream_exists')).toBe('stream_exists');
    expect(toStreamState('any')).toBe('any');
    expect(toStreamState(0n)).toBe(0n);
    expect(toStreamState(2n ** 60n)).toBe(2n ** 60n);
    expect(toStreamState(-1n)).toBe('no_stream');
  });
});

describe('eventstoredb mapping: positions', () => {
  it('0n reads from the start; any other position is a commit/prepare pair', () => {
    expect(toReadPosition(0n)).toBe('start');
    expect(toReadPosition(4711n)).toEqual({ commit: 4711n, prepare: 4711n });
    expect(toReadPosition(2n ** 62n)).toEqual({ commit: 2n ** 62n, prepare: 2n ** 62n });
    expect(() => toReadPosition(-5n)).toThrow(InvalidInput);
  });

  it('takes the commit position, ignoring the "no position" sentinel of old servers', () => {
    expect(commitPositionOf(resolved({ commit: 99n }))).toBe(99n);
    expect(commitPositionOf(resolved({ commit: 2n ** 64n - 1n }))).toBeUndefined();
    expect(commitPositionOf(resolved({ commit: undefined }))).toBeUndefined();
    expect(commitPositionOf({ ...resolved({ commit: undefined }), commitPosition: 7n })).toBe(7n);
  });
});

describe('eventstoredb mapping: events', () => {
  it('turns our event into a JSON event with its id (lower-case), type, data and metadata', () => {
    const e = testEvent('Thing', { x: [1, 2] });
    expect(toEventData(e)).toEqual({ id: e.id, contentType: 'application/json', type: 'Thing', data: { x: [1, 2] }, metadata: e.metadata });
    expect(toEventData({ ...e, id: e.id.toUpperCase() }).id).toBe(e.id.toLowerCase());
  });

  it('turns a resolved record into a RecordedEvent', () => {
    expect(toRecordedEvent(resolved())).toEqual({
      id: '6f1c0b54-3f4e-4a55-9d55-0d7d2f1b9a10',
      type: 'AgentSpawned',
      data: { a: 1 },
      metadata,
      streamId: 'agent-1',
      revision: 3n,
      position: 1234n,
    });
  });

  it('decodes JSON sent as bytes and refuses what cadre cannot have written', () => {
    const bytes = new TextEncoder().encode(JSON.stringify(metadata));
    const data = new TextEncoder().encode('{"b":2}');
    expect(toRecordedEvent(resolved({ metadata: bytes, data, isJson: false }))).toMatchObject({ metadata, data: { b: 2 } });
    expect(() => toRecordedEvent(resolved({ metadata: new TextEncoder().encode('not json') }))).toThrow(InvalidInput);
    expect(() => toRecordedEvent(resolved({ metadata: ['a'] }))).toThrow(/not a JSON object/);
    expect(() => toRecordedEvent(resolved({ commit: undefined }))).toThrow(StoreUnavailable);
    expect(() => toRecordedEvent({} as AllStreamResolvedEvent)).toThrow(InvalidInput);
  });

  it('keeps system events, links and claim bookkeeping out', () => {
    expect(isCadreRecord(resolved())).toBe(true);
    expect(isCadreRecord(resolved({ type: '$metadata' }))).toBe(false);
    expect(isCadreRecord(resolved({ streamId: '$stats-127.0.0.1:2113' }))).toBe(false);
    expect(isCadreRecord(resolved({ streamId: `${LEGACY_CLAIM_STREAM_PREFIX}x` }))).toBe(false);
    expect(isCadreRecord({ ...resolved(), link: resolved().event } as AllStreamResolvedEvent)).toBe(false);
    expect(isCadreRecord({} as AllStreamResolvedEvent)).toBe(false);
  });

  it('the server-side $all filter excludes system and claim streams', () => {
    const re = new RegExp(NON_SYSTEM_STREAM_REGEX);
    expect(re.test('agent-1')).toBe(true);
    expect(re.test('wf-9')).toBe(true);
    expect(re.test('$all')).toBe(false);
    expect(re.test('$$agent-1')).toBe(false);
    expect(re.test(`${LEGACY_CLAIM_STREAM_PREFIX}abc`)).toBe(false);
  });
});

describe('eventstoredb mapping: refused appends', () => {
  it('the same batch where it was meant to go is idempotent, whatever the case of its ids', () => {
    expect(judgeRetry(['a', 'b'], ['a', 'b'])).toBe('idempotent');
    expect(judgeRetry(['6F1C0B54-3F4E-4A55-9D55-0D7D2F1B9A10'], ['6f1c0b54-3f4e-4a55-9d55-0d7d2f1b9a10'])).toBe('idempotent');
  });

  it('some of its ids there in another shape conflict; none of them there is an ordinary refusal', () => {
    expect(judgeRetry(['a', 'c'], ['a', 'b'])).toBe('conflict');
    expect(judgeRetry(['a', 'b'], ['a'])).toBe('conflict');
    expect(judgeRetry(['b'], ['a', 'b'])).toBe('conflict');
    expect(judgeRetry(['a'], ['x'])).toBe('none');
    expect(judgeRetry(['a'], [])).toBe('none');
  });
});

describe('eventstoredb mapping: errors', () => {
  const ctx = { streamId: 'agent-1', expected: 1n, operation: 'append' } as const;

  it('WrongExpectedVersion becomes WrongExpectedRevision with the actual revision', () => {
    const err = mapClientError(new WrongExpectedVersionError(undefined, { streamName: 'agent-1', expected: 1n, current: 2n }), ctx);
    expect(err).toBeInstanceOf(WrongExpectedRevision);
    expect(err).toMatchObject({ streamId: 'agent-1', expected: '1', actual: 2n, retryable: true });
    const missing = mapClientError(new WrongExpectedVersionError(undefined, { streamName: 'agent-1', expected: 'stream_exists', current: 'no_stream' }), { ...ctx, expected: 'stream_exists' });
    expect(missing).toMatchObject({ expected: 'stream_exists', actual: 'no_stream' });
  });

  it('an unreachable server becomes a retryable StoreUnavailable', () => {
    const fromBridge = mapClientError(new UnavailableError(), ctx);
    expect(fromBridge).toBeInstanceOf(StoreUnavailable);
    expect((fromBridge as StoreUnavailable).retryable).toBe(true);
    const grpc = Object.assign(new Error('14 UNAVAILABLE: No connection established. Last error: connect ECONNREFUSED 127.0.0.1:1'), { code: 14 });
    const mapped = mapClientError(grpc, ctx) as StoreUnavailable;
    expect(mapped).toBeInstanceOf(StoreUnavailable);
    expect(mapped.message).toMatch(/append.*ECONNREFUSED/);
    expect(mapped.cause).toBe(grpc);
    expect(mapClientError(Object.assign(new Error('deadline'), { code: 4 }), ctx)).toBeInstanceOf(StoreUnavailable);
  });

  it('size limits become InvalidInput naming events; access denied is not retryable', () => {
    const big = mapClientError(MaxAppendSizeExceededError.fromMaxAppendSize(1_048_576), ctx) as InvalidInput;
    expect(big).toBeInstanceOf(InvalidInput);
    expect(big.field).toBe('events');
    expect(big.message).toContain('1048576');
    const denied = mapClientError(new AccessDeniedError(), ctx) as StoreUnavailable;
    expect(denied).toBeInstanceOf(StoreUnavailable);
    expect(denied.retryable).toBe(false);
  });

  it('the bridge\'s messages for a server gone away on an open connection are retryable, in any case', () => {
    for (const message of ['Server-side error: status: Unavailable, message: "error trying to connect"', 'Deadline exceeded', 'Connection is closed.', 'status: UNAVAILABLE', 'Unavailable']) {
      const mapped = mapClientError(new UnknownError({ message } as never), ctx);
      expect(mapped, message).toBeInstanceOf(StoreUnavailable);
      expect((mapped as StoreUnavailable).retryable).toBe(true);
    }
  });

  it('access denied on $all names the ACL it needs', () => {
    const denied = mapClientError(new AccessDeniedError(), { operation: 'readAll', readsAll: true }) as StoreUnavailable;
    expect(denied.message).toMatch(/\$all/);
    expect(denied.retryable).toBe(false);
  });

  it('leaves what it does not know unchanged and recognises a missing stream', () => {
    const unknown = new UnknownError();
    expect(mapClientError(unknown, ctx)).toBe(unknown);
    const plain = new Error('boom');
    expect(mapClientError(plain, ctx)).toBe(plain);
    expect(mapClientError('text', ctx)).toBe('text');
    expect(isStreamNotFound(new StreamNotFoundError(undefined, 'agent-1'))).toBe(true);
    expect(isStreamNotFound(plain)).toBe(false);
  });
});

describe('eventstoredb connection string', () => {
  it('accepts kurrentdb, kurrent and esdb URLs, handing esdb to the client as kurrentdb', () => {
    expect(normalizeConnectionString('kurrentdb://127.0.0.1:2113?tls=false')).toBe('kurrentdb://127.0.0.1:2113?tls=false');
    expect(normalizeConnectionString('kurrent://db:2113')).toBe('kurrent://db:2113');
    expect(normalizeConnectionString('esdb://127.0.0.1:2113?tls=false')).toBe('kurrentdb://127.0.0.1:2113?tls=false');
    expect(normalizeConnectionString(' ESDB+DISCOVER://admin:changeit@a:2113,b:2113 ')).toBe('kurrentdb+discover://admin:changeit@a:2113,b:2113');
  });

  it('refuses anything else naming connectionString, never echoing a password', () => {
    const cases: unknown[] = ['', '   ', 42, undefined, 'postgres://u:secret@h/db', 'http://h:2113', '127.0.0.1:2113', 'kurrentdb://', 'kurrentdb://u:secret@?tls=false'];
    for (const c of cases) {
      const err = (() => {
        try {
          normalizeConnectionString(c);
        } catch (e) {
          return e;
        }
        return undefined;
      })();
      expect(err, String(c)).toBeInstanceOf(InvalidInput);
      expect((err as InvalidInput).field).toBe('connectionString');
      expect((err as InvalidInput).message).not.toContain('secret');
    }
  });

  it('the factory refuses a bad URL before any connection attempt', async () => {
    await expect(createEventStoreDbStore('mysql://h')).rejects.toMatchObject({ field: 'connectionString' });
  });
});
