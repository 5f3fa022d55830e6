import { describe, expect, it } from 'vitest';
import { Slots, SlotWithdrawn } from '../../src/actors/slots.js';

describe('Slots', () => {
  it('settles an ask it withdraws: an actor that gives its slot up while queued is refused, not left waiting', async () => {
    const slots = new Slots(1);
    await slots.acquire('a');
    const queued = slots.acquire('b');
    // 'b' moves on (waits for children, or ends) before a slot is free.
    slots.release('b');
    await expect(queued).rejects.toBeInstanceOf(SlotWithdrawn);
    expect(slots.waiting).toBe(0);
    // The withdrawn ask took nothing: 'a' going frees the one slot for the next asker.
    slots.release('a');
    await expect(slots.acquire('c')).resolves.toBeUndefined();
    expect(slots.running).toBe(1);
  });

  it('grants queued asks in order as slots free up', async () => {
    const slots = new Slots(1);
    await slots.acquire('a');
    const order: string[] = [];
    const b = slots.acquire('b').then(() => order.push('b'));
    const c = slots.acquire('c').then(() => order.push('c'));
    slots.release('a');
    await b;
    slots.release('b');
    await c;
    expect(order).toEqual(['b', 'c']);
  });
});
