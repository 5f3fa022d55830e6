import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/actors/ports/runtimePorts.js';
import { InboxFull, InvalidInput } from '../../src/errors.js';
import { KeyedSignal } from '../../src/infra/signals.js';
import type { SqlClient } from '../../src/infra/sql/sqlClient.js';
import { admit } from '../../src/messaging/admission.js';
import { InboxGate } from '../../src/messaging/inboxGate.js';
import { MessagingLifecycle, type MessagingContext } from '../../src/messaging/messagingContext.js';
import { resolveMessagingOptions, type MessagingOptions } from '../../src/messaging/messagingOptions.js';
import type { QueueSql } from '../../src/messaging/queueSql.js';

/** Admission over a queue whose depth the test sets, on a clock the test moves. */
function fixture(options: MessagingOptions, rows: () => number, onDepth: () => void = () => {}): { ctx: MessagingContext; clock: { t: number } } {
  const clock = { t: Date.UTC(2026, 0, 1) };
  const now = (): number => clock.t;
  const queue = {
    depth: async () => {
      onDepth();
      return rows();
    },
  } as unknown as QueueSql;
  const ctx: MessagingContext = {
    cfg: resolveMessagingOptions(options),
    runtime: { execute: async () => [], state: async () => ({ status: 'idle' }) },
    sql: {} as SqlClient,
    queue,
    log: silentLogger,
    now,
    gate: new InboxGate(now),
    arrivals: new KeyedSignal(),
    capacity: new KeyedSignal(),
    lifecycle: new MessagingLifecycle(),
  };
  return { ctx, clock };
}

describe('messaging options', () => {
  it('fills in the defaults and names the option it refuses', () => {
    expect(resolveMessagingOptions({ inboxLimit: 2 })).toEqual({ inboxLimit: 2, sendTimeoutMs: 5000, visibilityTimeoutMs: 30_000, maxAttempts: 5, maxPayloadBytes: 256 * 1024, materialiseTimeoutMs: 10_000 });
    expect(resolveMessagingOptions({ sendTimeoutMs: 0 }).sendTimeoutMs).toBe(0);
    expect(() => resolveMessagingOptions({ inboxLimit: 0 })).toThrow(InvalidInput);
    expect(() => resolveMessagingOptions({ maxAttempts: 1.5 })).toThrow(/messaging\.maxAttempts/);
  });
});

describe('admission reads time from the injected clock', () => {
  it('gives up on a full inbox when the clock passes the deadline, not the wall clock', async () => {
    // A minute's timeout, and a clock that moves two minutes per look: refused at once after one look.
    let looks = 0;
    const f = fixture({ inboxLimit: 1, sendTimeoutMs: 60_000 }, () => 1, () => {
      looks++;
      f.clock.t += 120_000;
    });
    await expect(admit(f.ctx, 'r', 'm1', 60_000)).rejects.toBeInstanceOf(InboxFull);
    expect(looks).toBe(1);
  });

  it('lets a reservation whose send never finished expire by the clock', async () => {
    const f = fixture({ inboxLimit: 1 }, () => 0);
    await admit(f.ctx, 'r', 'm1', 0);
    await expect(admit(f.ctx, 'r', 'm2', 0)).rejects.toBeInstanceOf(InboxFull);
    f.clock.t += 30_000;
    await expect(admit(f.ctx, 'r', 'm2', 0)).resolves.toBeUndefined();
  });
});
