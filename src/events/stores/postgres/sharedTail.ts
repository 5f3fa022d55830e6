import type { RecordedEvent } from '../../envelope.js';
import { backoffMs } from '../../../infra/backoff.js';
import { Signal } from '../../../infra/signals.js';

export interface SharedTailOptions {
  /** Visible events strictly after `from`, in position order (the xmin rule: gap-free). */
  readonly read: (from: bigint, limit: number) => Promise<RecordedEvent[]>;
  /** The newest position a reader can see now: where a fresh tail starts. */
  readonly head: () => Promise<bigint>;
  /** Fired by local appends and by NOTIFY from other processes. */
  readonly wake: Signal;
  /** Fallback poll interval while someone waits, in ms. */
  readonly pollIntervalMs: number;
  /** Most events kept for subscribers that lag; older ones are read from the table again. */
  readonly capacity?: number;
  readonly batchSize?: number;
  /**
   * Least time between two reads, in ms (default 20, as the NOTIFY coalescing): subscribers see
   * events up to this much later; the first read after a quiet spell goes at once. With 3 ms a
   * 4-node workflow read the tail 23 times per run, one per append (its appends come ~3 ms
   * apart); with 20, ~5, and the run is no slower: no run waits on a subscription.
   */
  readonly minGapMs?: number;
}

/** The last quick look after an empty wake-up (the 7th: 64 ms after the one before), then the poll interval. */
const QUICK_LOOKS_LAST = 6;

/**
 * One reader of `$all` per store per process, shared by every live subscription in it.
 *
 * Why: each subscription polled the events table on every wake-up, and a process runs several
 * (projections, the message projector, worker mode, the dashboard): a 4-node workflow made 66
 * polling queries per agent step, two thirds of all its database round trips. Now one poll per
 * wake-up fills a buffer that every subscription reads from; a subscription behind the buffer
 * (catching up from an old checkpoint) reads the table itself until it reaches it.
 *
 * The buffer holds every event in (`start`, `end`]. `start` is always a position no event can
 * later appear at or below — the head read with the xmin rule, or a delivered event's position —
 * so a subscription behind it may jump to it once a read shows nothing more before it.
 */
export class SharedTail {
  private readonly buffer: RecordedEvent[] = [];
  private startAt: bigint | undefined;
  private endAt = 0n;
  private starting: Promise<void> | undefined;
  private polling = false;
  private lastReadAt = Number.NEGATIVE_INFINITY;
  private readonly minGapMs: number;
  private failures = 0;
  private lastError: unknown;
  private waiting = 0;
  private closed = false;
  private readonly advanced = new Signal();
  private readonly cursors = new Set<{ position: bigint }>();
  private readonly capacity: number;
  private readonly batchSize: number;

  constructor(private readonly o: SharedTailOptions) {
    this.capacity = o.capacity ?? 10_000;
    this.batchSize = o.batchSize ?? 500;
    this.minGapMs = o.minGapMs ?? 20;
  }

  /** A subscription's place, used to drop buffered events every subscription has passed. */
  attach(cursor: { position: bigint }): () => void {
    this.cursors.add(cursor);
    return () => {
      this.cursors.delete(cursor);
      // Nobody reads: the buffer is only memory now, and the next subscription starts afresh.
      if (this.cursors.size === 0) this.reset();
    };
  }

  /** The lower bound of the buffer, once started. */
  get start(): bigint | undefined {
    return this.startAt;
  }

  /**
   * Buffered events after `position` (at most `limit`), or `'behind'` when `position` is older
   * than the buffer (read the table instead).
   */
  async after(position: bigint, limit: number): Promise<RecordedEvent[] | 'behind'> {
    if (this.startAt === undefined) await (this.starting ??= this.begin());
    if (position < this.startAt!) return 'behind';
    let lo = 0;
    let hi = this.buffer.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.buffer[mid]!.position <= position) lo = mid + 1;
      else hi = mid;
    }
    return this.buffer.slice(lo, lo + limit);
  }

  /**
   * Resolves once the tail has read past `position`, or `stop()` says to give up (checked on
   * every wake). Rejects with the read's error when the table cannot be read, as a subscription
   * of its own would have.
   */
  async waitBeyond(position: bigint, stop: () => boolean): Promise<void> {
    this.waiting++;
    try {
      while (this.endAt <= position && !stop() && !this.closed) {
        const seen = this.advanced.version;
        const failures = this.failures;
        this.poll();
        await this.advanced.wait(this.o.pollIntervalMs, seen);
        if (this.failures !== failures) throw this.lastError;
      }
    } finally {
      this.waiting--;
    }
  }

  /** Wakes every waiter (a subscription closing, or the store). */
  interrupt(): void {
    this.advanced.fire();
  }

  close(): void {
    this.closed = true;
    this.advanced.fire();
  }

  private async begin(): Promise<void> {
    try {
      const head = await this.o.head();
      this.startAt = head;
      this.endAt = head;
    } finally {
      this.starting = undefined;
    }
  }

  private reset(): void {
    this.buffer.length = 0;
    this.startAt = undefined;
    this.endAt = 0n;
  }

  /** One polling loop at a time, running while anyone waits for more. */
  private poll(): void {
    if (this.polling || this.startAt === undefined) return;
    this.polling = true;
    void this.pollLoop();
  }

  private async pollLoop(): Promise<void> {
    // After a wake-up that found nothing, the new events are probably held back behind an
    // older transaction still open (the xmin rule): look again soon, backing off, rather than
    // sleeping a whole poll interval. `quick` counts those looks (1, 2, 4 … 64 ms apart); null: none due.
    let quick: number | null = null;
    try {
      while (this.waiting > 0 && !this.closed && this.startAt !== undefined) {
        // Appends less than minGapMs apart share a read.
        const gap = this.lastReadAt + this.minGapMs - performance.now();
        if (gap > 0) await new Promise((r) => setTimeout(r, gap));
        if (this.closed || this.startAt === undefined) return; // closed or reset during the pause
        const seen = this.o.wake.version;
        let got: RecordedEvent[];
        try {
          this.lastReadAt = performance.now();
          got = await this.o.read(this.endAt, this.batchSize);
        } catch (err) {
          // Every waiter gets the error (its consumer retries as it would have on its own read).
          this.lastError = err;
          this.failures++;
          this.advanced.fire();
          return;
        }
        if (this.startAt === undefined) return; // reset while reading: the result is stale
        if (got.length > 0) {
          this.buffer.push(...got);
          this.endAt = got[got.length - 1]!.position;
          this.trim();
          this.advanced.fire();
        }
        if (got.length === this.batchSize || this.o.wake.version !== seen) {
          quick = 0;
          continue;
        }
        if (got.length === 0 && quick !== null && quick <= QUICK_LOOKS_LAST) {
          await this.o.wake.wait(backoffMs(quick, { baseMs: 1 }), seen);
          quick++;
          continue;
        }
        quick = null;
        await this.o.wake.wait(this.o.pollIntervalMs, seen);
        if (this.o.wake.version !== seen) quick = 0;
      }
    } finally {
      // Synchronously on the way out, so a waiter arriving next starts a new loop.
      this.polling = false;
    }
  }

  /** Drops what every subscription has passed, and the oldest events beyond the capacity. */
  private trim(): void {
    let keepAfter = this.endAt;
    for (const c of this.cursors) if (c.position < keepAfter) keepAfter = c.position;
    let drop = 0;
    while (drop < this.buffer.length && (this.buffer[drop]!.position <= keepAfter || this.buffer.length - drop > this.capacity)) drop++;
    if (drop === 0) return;
    // Every event up to the last one dropped was delivered by a gap-free read: a safe start.
    this.startAt = this.buffer[drop - 1]!.position;
    this.buffer.splice(0, drop);
  }
}
