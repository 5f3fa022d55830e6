import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  available,
  budgetStatus,
  checkDelegate,
  checkReserve,
  delegate,
  openLedger,
  overspent,
  reclaim,
  release,
  reserve,
  settle,
  unspent,
  type BudgetLedger,
} from '../../src/actors/budget.js';
import { BudgetExceeded } from '../../src/errors.js';

/** The ledger's own balance, unclamped: what `available` would be without its floor at 0. */
const raw = (b: BudgetLedger): number => b.allocated - b.consumed - b.reserved - b.delegated - b.spentBySubtree;
const sum = (r: Readonly<Record<string, number>>): number => Object.values(r).reduce((n, x) => n + x, 0);

type Op =
  | { kind: 'reserve'; amount: number }
  | { kind: 'settle'; pick: number; fraction: number }
  | { kind: 'release'; pick: number }
  | { kind: 'delegate'; amount: number }
  | { kind: 'reclaim'; pick: number; fraction: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('reserve' as const), amount: fc.integer({ min: 0, max: 5_000 }) }),
  fc.record({ kind: fc.constant('settle' as const), pick: fc.nat(), fraction: fc.double({ min: 0, max: 1, noNaN: true }) }),
  fc.record({ kind: fc.constant('release' as const), pick: fc.nat() }),
  fc.record({ kind: fc.constant('delegate' as const), amount: fc.integer({ min: 0, max: 5_000 }) }),
  fc.record({ kind: fc.constant('reclaim' as const), pick: fc.nat(), fraction: fc.double({ min: 0, max: 1, noNaN: true }) }),
);

/**
 * Drives the ledger as the deciders do: a reservation or delegation happens only when the check
 * allows it; a settle never uses more than was reserved (a real reply never exceeds max_tokens);
 * a child returns at most what it was given.
 */
function drive(allocated: number, ops: readonly Op[], each: (b: BudgetLedger, refused: boolean) => void): BudgetLedger {
  let b = openLedger(allocated);
  let n = 0;
  for (const o of ops) {
    let refused = false;
    const reservations = Object.keys(b.reservations);
    const delegations = Object.keys(b.delegations);
    switch (o.kind) {
      case 'reserve': {
        const refusal = checkReserve('a', b, o.amount);
        if (refusal) refused = true;
        else b = reserve(b, `r${n++}`, o.amount);
        break;
      }
      case 'delegate': {
        const refusal = checkDelegate('a', b, o.amount);
        if (refusal) refused = true;
        else b = delegate(b, `c${n++}`, o.amount);
        break;
      }
      case 'settle': {
        const id = reservations[o.pick % Math.max(1, reservations.length)];
        if (id) b = settle(b, id, Math.floor(b.reservations[id]! * o.fraction));
        break;
      }
      case 'release': {
        const id = reservations[o.pick % Math.max(1, reservations.length)];
        if (id) b = release(b, id);
        break;
      }
      case 'reclaim': {
        const id = delegations[o.pick % Math.max(1, delegations.length)];
        if (id) b = reclaim(b, id, Math.floor(b.delegations[id]! * o.fraction));
        break;
      }
    }
    each(b, refused);
  }
  return b;
}

describe('budget arithmetic', () => {
  it('conserves tokens and never goes below zero over random operation sequences', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 20_000 }), fc.array(op, { maxLength: 60 }), (allocated, ops) => {
        drive(allocated, ops, (b) => {
          // Every token is somewhere: consumed, held, with a child, spent below, or available.
          expect(b.consumed + b.reserved + b.delegated + b.spentBySubtree + available(b)).toBe(b.allocated);
          expect(raw(b)).toBeGreaterThanOrEqual(0);
          expect(available(b)).toBe(raw(b));
          // The totals are the sums of the open entries.
          expect(b.reserved).toBe(sum(b.reservations));
          expect(b.delegated).toBe(sum(b.delegations));
          for (const k of ['consumed', 'reserved', 'delegated', 'spentBySubtree', 'reclaimed'] as const) expect(b[k]).toBeGreaterThanOrEqual(0);
        });
      }),
      { numRuns: 300 },
    );
  });

  it('once everything is settled and reclaimed, allocated = consumed + spentBySubtree + available', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 20_000 }), fc.array(op, { maxLength: 40 }), (allocated, ops) => {
        let b = drive(allocated, ops, () => {});
        for (const id of Object.keys(b.reservations)) b = release(b, id);
        for (const id of Object.keys(b.delegations)) b = reclaim(b, id, b.delegations[id]!);
        expect(b.reserved).toBe(0);
        expect(b.delegated).toBe(0);
        expect(b.allocated).toBe(b.consumed + b.spentBySubtree + available(b));
        expect(unspent(b)).toBe(available(b));
      }),
      { numRuns: 200 },
    );
  });

  it('refuses exactly the requests over the available balance, with the numbers', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10_000 }), fc.integer({ min: 0, max: 20_000 }), (allocated, amount) => {
        const b = openLedger(allocated);
        const r = checkReserve('agent-x', b, amount);
        const d = checkDelegate('agent-x', b, amount);
        if (amount > allocated) {
          expect(r).toBeInstanceOf(BudgetExceeded);
          expect(d).toBeInstanceOf(BudgetExceeded);
          expect(r!.message).toContain(String(amount));
          expect(r!.message).toContain(String(allocated));
        } else {
          expect(r).toBeNull();
          expect(d).toBeNull();
        }
      }),
    );
  });

  it('reclaim counts the unspent part back and the rest as spent below', () => {
    let b = delegate(openLedger(1000), 'c1', 600);
    expect(budgetStatus(b)).toMatchObject({ delegated: 600, available: 400 });
    b = reclaim(b, 'c1', 250);
    expect(budgetStatus(b)).toEqual({ allocated: 1000, consumed: 0, reserved: 0, delegated: 0, spentBySubtree: 350, overspent: 0, reclaimed: 250, available: 650 });
    // A second reclaim of the same child changes nothing: it is no longer delegated to.
    expect(reclaim(b, 'c1', 600)).toEqual({ ...b, delegations: {} });
  });

  it('a child can never return more than it was given', () => {
    const b = reclaim(delegate(openLedger(1000), 'c1', 100), 'c1', 5000);
    expect(b.reclaimed).toBe(100);
    expect(b.spentBySubtree).toBe(0);
    expect(available(b)).toBe(1000);
  });

  it('settle replaces the reservation with the real usage; release returns all of it', () => {
    let b = reserve(reserve(openLedger(1000), 'a', 300), 'b', 200);
    expect(available(b)).toBe(500);
    b = settle(b, 'a', 120);
    expect(budgetStatus(b)).toMatchObject({ consumed: 120, reserved: 200, available: 680 });
    b = release(b, 'b');
    expect(budgetStatus(b)).toMatchObject({ consumed: 120, reserved: 0, available: 880 });
    expect(b.reservations).toEqual({});
  });
});

/** Every token is somewhere, overspend included: the line `cadre budget` and `status` print. */
const conserves = (b: BudgetLedger): void => {
  const s = budgetStatus(b);
  expect(s.allocated + s.overspent).toBe(s.consumed + s.reserved + s.delegated + s.spentBySubtree + s.available);
  expect(Math.min(s.available, s.overspent)).toBe(0); // one side of the difference or the other
};

/** A child that reserves up to what it has, then is told (by a lying provider) it used `factor` times that. */
function childRun(allocated: number, calls: ReadonlyArray<{ ask: number; factor: number }>): BudgetLedger {
  let b = openLedger(allocated);
  calls.forEach(({ ask, factor }, i) => {
    const amount = Math.min(ask, available(b));
    if (checkReserve('c', b, amount)) return;
    b = reserve(b, `r${i}`, amount);
    conserves(b);
    b = settle(b, `r${i}`, Math.floor(amount * factor));
    conserves(b);
  });
  return b;
}

describe('budget arithmetic with overspends', () => {
  it('allocated + overspent = consumed + reserved + delegated + spentBySubtree + available, in every agent and up the chain', () => {
    const call = fc.record({ ask: fc.integer({ min: 0, max: 8_000 }), factor: fc.double({ min: 0, max: 4, noNaN: true }) });
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 50_000 }),
        fc.array(fc.record({ share: fc.double({ min: 0, max: 1, noNaN: true }), calls: fc.array(call, { maxLength: 5 }) }), { maxLength: 5 }),
        fc.array(call, { maxLength: 4 }),
        (allocated, children, ownCalls) => {
          let root = childRun(allocated, ownCalls);
          let subtreeConsumed = root.consumed;
          children.forEach((kid, i) => {
            const given = Math.floor(available(root) * kid.share);
            if (checkDelegate('root', root, given)) return;
            root = delegate(root, `c${i}`, given);
            conserves(root);
            const child = childRun(given, kid.calls);
            subtreeConsumed += child.consumed;
            // The runtime's reclaimEvent: what the child had left comes back, its overspend is charged here.
            root = reclaim(root, `c${i}`, Math.min(given, available(child)), overspent(child));
            conserves(root);
          });
          // Nothing in flight: the root's line over the whole tree (cadre budget --subtree).
          expect(root.allocated + overspent(root)).toBe(subtreeConsumed + available(root));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('a 10,000 child told it used 20,100 owes 10,100, and its parent of 50,000 has 29,900 left', () => {
    const child = settle(reserve(openLedger(10_000), 'r', 9_000), 'r', 20_100);
    expect(budgetStatus(child)).toMatchObject({ consumed: 20_100, available: 0, overspent: 10_100 });
    const parent = reclaim(delegate(openLedger(50_000), 'c', 10_000), 'c', available(child), overspent(child));
    expect(budgetStatus(parent)).toMatchObject({ spentBySubtree: 20_100, available: 29_900, overspent: 0 });
  });
});
