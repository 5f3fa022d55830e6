import { describe, expect, it } from 'vitest';
import { revisionArg, toSafeNumber } from '../../src/events/safeNumber.js';
import { toHistoryEvent } from '../../src/events/historyEvent.js';
import type { ParsedEvent } from '../../src/events/upcast.js';
import { InvalidInput } from '../../src/errors.js';

const event = (revision: bigint, position: bigint): ParsedEvent =>
  ({
    id: '00000000-0000-4000-8000-000000000001', type: 'AgentRunRequested', data: {}, streamId: 'agent-a', revision, position,
    metadata: { correlationId: 'a', causationId: null, schemaVersion: 1, at: '2026-12-04T06:00:00.000Z' },
  }) as unknown as ParsedEvent;

const refusal = (fn: () => unknown): InvalidInput => {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidInput);
    return err as InvalidInput;
  }
  throw new Error('not refused');
};

describe('revisions and positions in API results', () => {
  it('are plain numbers, exact up to 2^53 - 1, and JSON as they are', () => {
    const e = toHistoryEvent(event(3n, 2n ** 53n - 1n));
    expect(e.revision).toBe(3);
    expect(e.position).toBe(Number.MAX_SAFE_INTEGER);
    expect(JSON.parse(JSON.stringify(e))).toEqual(e);
  });

  it('refuse a value at 2^53 or more, naming the field, instead of rounding it', () => {
    expect(refusal(() => toSafeNumber(2n ** 53n, 'revision')).field).toBe('revision');
    const err = refusal(() => toHistoryEvent(event(3n, 2n ** 53n + 1n)));
    expect(err.field).toBe('event agent-a@3.position');
    expect(err.message).toContain('9007199254740993'); // the exact value, not the rounded one
  });
});

describe('revisions and positions given to the API', () => {
  it('are numbers or bigints', () => {
    expect(revisionArg(7, 'toRevision')).toBe(7n);
    expect(revisionArg(7n, 'toRevision')).toBe(7n);
    expect(revisionArg(2n ** 60n, 'toRevision')).toBe(2n ** 60n);
  });

  it('refuse a number that may already be rounded, and non-integers, naming the field', () => {
    for (const bad of [2 ** 53, 2 ** 53 + 2, 1.5, Number.NaN, Infinity, '3', null]) expect(refusal(() => revisionArg(bad, 'toRevision')).field).toBe('toRevision');
    expect(refusal(() => revisionArg(2 ** 53, 'toRevision')).message).toContain('pass it as a bigint');
  });
});
