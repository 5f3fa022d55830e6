import { describe, expect, it } from 'vitest';
import { OwnWrites } from '../../src/actors/runtime/ownWrites.js';
import { WrongExpectedRevision } from '../../src/errors.js';
import { testEvent } from '../support/events.js';

const append = (streamId: string, n = 2) => ({ streamId, events: Array.from({ length: n }, () => testEvent()), expectedRevision: 'no_stream' as const });
const stored = { ok: true as const, value: { nextExpectedRevision: 1n, position: 9n, idempotent: false } };
/** Ids remembered for two agent streams' appends, sent, and the streams it says it missed. */
function sentTwo(): { own: OwnWrites; missed: string[]; a: ReturnType<typeof append>; b: ReturnType<typeof append> } {
  const missed: string[] = [];
  const own = new OwnWrites((s) => missed.push(s));
  const [a, b] = [append('agent-a'), append('agent-b')];
  own.sending([a, b]);
  return { own, missed, a, b };
}

describe('OwnWrites: the subscription skips what this process wrote, and only that', () => {
  it('an event of a stored append needs no refresh, delivered before or after the answer, and is forgotten once delivered', () => {
    const { own, missed, a, b } = sentTwo();
    expect(own.delivered(a.events[0]!.id)).toBe(true); // before the answer
    own.settled([a, b], [stored, stored]);
    expect(own.delivered(a.events[1]!.id)).toBe(true); // after it
    for (const e of b.events) expect(own.delivered(e.id)).toBe(true);
    // Delivered again (a subscription started over): no longer known, refreshed as anyone's.
    for (const e of [...a.events, ...b.events]) expect(own.delivered(e.id)).toBe(false);
    expect(missed).toEqual([]);
  });

  it('a refused append forgets its ids: an event with one of them is another writer’s', () => {
    const missed: string[] = [];
    const own = new OwnWrites((s) => missed.push(s));
    const a = append('agent-a');
    own.sending([a]);
    own.settled([a], [{ ok: false, error: new WrongExpectedRevision('agent-a', 'no_stream', 0n) }]);
    expect(own.delivered(a.events[0]!.id)).toBe(false);
    expect(missed).toEqual([]);
  });

  it('delivered while its outcome turned out unknown (the call failed): its stream is looked at after all', () => {
    const { own, missed, a, b } = sentTwo();
    expect(own.delivered(a.events[0]!.id)).toBe(true);
    own.settled([a, b], []);
    expect(missed).toEqual(['agent-a']);
    expect(own.delivered(b.events[0]!.id)).toBe(false);
  });

  it('an idempotent retry is not waited for (its events may have been delivered already), and streams the subscription does not follow are not kept', () => {
    const own = new OwnWrites(() => {});
    const retry = append('agent-a');
    const other = append('workflow-x');
    own.sending([retry, other]);
    own.settled([retry, other], [{ ok: true, value: { ...stored.value, idempotent: true } }, stored]);
    expect(own.delivered(retry.events[0]!.id)).toBe(false);
    expect(own.delivered(other.events[0]!.id)).toBe(false);
  });
});
