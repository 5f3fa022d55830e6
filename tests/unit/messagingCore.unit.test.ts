import { afterEach, describe, expect, it, vi } from 'vitest';
import fc from 'fast-check';
import { checkPayload, findNonJson } from '../../src/messaging/payload.js';
import { KeyedSignal } from '../../src/infra/signals.js';
import { InboxGate } from '../../src/messaging/inboxGate.js';
import { planBatch } from '../../src/messaging/projector.js';
import { InvalidInput, MessageTooLarge } from '../../src/errors.js';
import type { RecordedEvent } from '../../src/events/envelope.js';

describe('payload validation', () => {
  it('accepts every JSON value and measures its UTF-8 size', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        const clean = JSON.parse(JSON.stringify(v).replace(/\\u0000/g, '')) as unknown; // Postgres cannot hold U+0000
        expect(findNonJson(clean)).toBeNull();
        const { json, bytes } = checkPayload(clean, 10_000_000);
        expect(bytes).toBe(Buffer.byteLength(json));
      }),
    );
  });

  it('names the first non-JSON part', () => {
    const cyclic: unknown[] = [1];
    cyclic.push({ back: cyclic });
    expect(findNonJson({ a: [1, { f: () => 0 }] })).toEqual({ path: ['a', 1, 'f'], reason: 'functions are not JSON' });
    expect(findNonJson(cyclic)?.path).toEqual([1, 'back']);
    expect(findNonJson({ m: new Map() })?.reason).toMatch(/Map instances/);
    expect(findNonJson([, 1])?.path).toEqual([0]); // eslint-disable-line no-sparse-arrays
    expect(findNonJson(Infinity)?.reason).toMatch(/not a JSON number/);
    expect(findNonJson(Object.create(null) as object)).toBeNull();
    // A shared (not cyclic) object is fine.
    const shared = { x: 1 };
    expect(findNonJson({ a: shared, b: shared })).toBeNull();
  });

  it('refuses values nested too deep, without overflowing the stack', () => {
    let deep: unknown = 'leaf';
    for (let i = 0; i < 100_000; i++) deep = [deep];
    expect(findNonJson(deep)?.reason).toMatch(/nested deeper than 1000 levels/);
    let ok: unknown = 'leaf';
    for (let i = 0; i < 999; i++) ok = { k: ok };
    expect(findNonJson(ok)).toBeNull();
  });

  it('throws InvalidInput with the field path, and MessageTooLarge over the limit', () => {
    const err = (() => {
      try {
        checkPayload({ items: [{ at: 1n }] }, 1000);
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(InvalidInput);
    expect((err as InvalidInput).field).toBe('payload.items[0].at');
    expect(() => checkPayload('é'.repeat(600), 1000)).toThrow(MessageTooLarge);
    expect(() => checkPayload('é'.repeat(400), 1000)).not.toThrow();
  });
});

describe('KeyedSignal', () => {
  afterEach(() => void vi.useRealTimers());

  it('returns at once when the key fired after the version a waiter saw', async () => {
    vi.useFakeTimers();
    const s = new KeyedSignal();
    const seen = s.current;
    s.fire('a');
    let returned = false;
    const waiting = s.wait('a', seen, 5000).then(() => void (returned = true));
    // No time passes on fake timers: only the fired key can let it return.
    await vi.advanceTimersByTimeAsync(0);
    expect(returned).toBe(true);
    await waiting;
  });

  it('wakes only the waiters of the fired key, and everyone on fireAll', async () => {
    const s = new KeyedSignal();
    const woke: string[] = [];
    const a = s.wait('a', s.current, 1000).then(() => woke.push('a'));
    const b = s.wait('b', s.current, 1000).then(() => woke.push('b'));
    s.fire('a');
    await a;
    expect(woke).toEqual(['a']);
    s.fireAll();
    await b;
    expect(woke).toEqual(['a', 'b']);
  });

  it('times out, not before', async () => {
    vi.useFakeTimers();
    const s = new KeyedSignal();
    let returned = false;
    const waiting = s.wait('x', s.current, 30).then(() => void (returned = true));
    await vi.advanceTimersByTimeAsync(29);
    expect(returned).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(returned).toBe(true);
    await waiting;
  });
});

describe('InboxGate', () => {
  it('counts reservations until released or expired', () => {
    let t = 0;
    const g = new InboxGate(() => t);
    g.reserve('r', 'm1', 100);
    g.reserve('r', 'm2', 200);
    expect(g.unprojected('r')).toBe(2);
    g.release('r', 'm1');
    expect(g.unprojected('r')).toBe(1);
    t = 250;
    expect(g.unprojected('r')).toBe(0);
  });

  it('runs check-then-reserve alone per recipient', async () => {
    const g = new InboxGate(() => 0);
    const order: string[] = [];
    // `a` holds the recipient until the test lets it go: `b` must wait, `other` must not.
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const a = g.exclusive('r', async () => {
      order.push('a+');
      await held;
      order.push('a-');
    });
    const b = g.exclusive('r', async () => {
      order.push('b+');
      order.push('b-');
    });
    await g.exclusive('other', async () => void order.push('o'));
    expect(order).toEqual(['a+', 'o']);
    release();
    await Promise.all([a, b]);
    expect(order).toEqual(['a+', 'o', 'a-', 'b+', 'b-']);
  });
});

describe('planBatch', () => {
  const rec = (streamId: string, type: string, data: unknown, position: bigint): RecordedEvent => ({
    id: `e${position}`, type, data, streamId, revision: 0n, position,
    metadata: { correlationId: 'c', causationId: 'c', schemaVersion: 1, at: '2026-01-01T00:00:00.000Z' },
  });

  it('takes messages, ends and acks from agent streams, first message id wins', () => {
    const sent = (id: string, to: string) => ({ messageId: id, to, payload: { x: 1 }, priority: 3, dedupeKey: null });
    const plan = planBatch([
      rec('agent-a', 'MessageSent', sent('m1', 'b'), 10n),
      rec('agent-a', 'MessageSent', sent('m1', 'b'), 11n),
      rec('agent-b', 'MessageAcked', { messageId: 'm0' }, 12n),
      rec('agent-b', 'AgentTerminated', { reason: 'x', by: null, returned: 0 }, 13n),
      rec('agent-c', 'AgentCompleted', { output: '', returned: 0 }, 14n),
      rec('agent-c', 'ModelReplied', {}, 15n),
      rec('other-x', 'MessageSent', sent('m9', 'b'), 16n),
      rec('agent-a', 'MessageSent', { broken: true }, 17n),
    ]);
    expect(plan.messages).toEqual([{ messageId: 'm1', sender: 'a', recipient: 'b', payload: { x: 1 }, priority: 3, dedupeKey: null, position: 10n, sentAt: '2026-01-01T00:00:00.000Z' }]);
    expect(plan.acks).toEqual([{ recipient: 'b', messageId: 'm0' }]);
    expect(plan.ended).toEqual([{ agentId: 'b', status: 'terminated', position: 13n }, { agentId: 'c', status: 'completed', position: 14n }]);
    expect(plan.outboxed).toEqual([]);
  });

  it('from the outbox position on, leaves sends and acks to the trigger and the ack, and names the sends', () => {
    const sent = (id: string, to: string) => ({ messageId: id, to, payload: null, priority: 5, dedupeKey: null });
    const plan = planBatch([
      rec('agent-a', 'MessageSent', sent('before', 'b'), 99n),
      rec('agent-b', 'MessageAcked', { messageId: 'before' }, 99n),
      rec('agent-a', 'MessageSent', sent('after', 'c'), 100n),
      rec('agent-c', 'MessageAcked', { messageId: 'after' }, 101n),
      rec('agent-c', 'AgentCompleted', { output: '', returned: 0 }, 102n),
    ], undefined, 100n);
    expect(plan.messages.map((m) => m.messageId)).toEqual(['before']);
    expect(plan.acks).toEqual([{ recipient: 'b', messageId: 'before' }]);
    expect(plan.outboxed).toEqual([{ messageId: 'after', recipient: 'c' }]);
    expect(plan.ended).toEqual([{ agentId: 'c', status: 'completed', position: 102n }]);
  });
});
