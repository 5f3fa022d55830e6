import { Aborted } from '../../errors.js';
import { Mutex } from '../mutex.js';
import { abortReason, abortableSleep } from './abortableSleep.js';

export interface RateLimiterOptions {
  /** Calls allowed per minute; unlimited when absent. */
  readonly requestsPerMinute?: number;
  /** Tokens (input + output) allowed per minute; unlimited when absent. */
  readonly tokensPerMinute?: number;
  /** Milliseconds since some epoch; injected so tests can run a simulated clock. */
  readonly now?: () => number;
  /** Waits; must reject when the signal aborts. Injected together with `now`. */
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

export interface RateLimiter {
  /**
   * Waits until one request and `tokens` tokens are available, then takes them. Callers are
   * served in arrival order, so a large request is not starved by a stream of small ones.
   */
  acquire(tokens: number, signal?: AbortSignal): Promise<void>;
  /**
   * Corrects the token bucket once the real usage is known: a positive `delta` takes more
   * tokens (the output, an underestimate), a negative one gives back an overestimate. The
   * bucket may go below zero; later callers then wait for it to refill.
   */
  settle(delta: number): void;
}

/** One token bucket that refills continuously at `perMinute / 60 000` per millisecond. */
class Bucket {
  private level: number;
  private updatedAt: number;
  private readonly perMs: number;

  constructor(readonly capacity: number, now: number) {
    this.level = capacity;
    this.updatedAt = now;
    this.perMs = capacity / 60_000;
  }

  refill(now: number): void {
    this.level = Math.min(this.capacity, this.level + (now - this.updatedAt) * this.perMs);
    this.updatedAt = now;
  }

  /** Milliseconds until `amount` (capped at capacity, or it would never fit) is available. */
  waitFor(amount: number): number {
    const need = Math.min(amount, this.capacity);
    return this.level >= need ? 0 : Math.ceil((need - this.level) / this.perMs);
  }

  /** Takes `amount` (negative gives back, never above capacity). */
  take(amount: number): void {
    this.level = Math.min(this.capacity, this.level - amount);
  }
}

/**
 * A per-provider rate limiter: token buckets for requests per minute and tokens per minute,
 * each starting full (a burst of one minute's allowance) and refilling continuously. It keeps
 * cadre under the account's limits before the API has to answer 429.
 *
 * @example
 * const limiter = createRateLimiter({ requestsPerMinute: 50, tokensPerMinute: 40_000 });
 * await limiter.acquire(estimate, signal);
 * const reply = await callTheApi();
 * limiter.settle(reply.usage.inputTokens + reply.usage.outputTokens - estimate);
 */
export function createRateLimiter(options: RateLimiterOptions = {}): RateLimiter {
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? abortableSleep;
  const start = now();
  const requests = positive(options.requestsPerMinute) ? new Bucket(options.requestsPerMinute, start) : undefined;
  const tokens = positive(options.tokensPerMinute) ? new Bucket(options.tokensPerMinute, start) : undefined;
  // Acquisitions run one after another: FIFO fairness without a waiter list.
  const queue = new Mutex();

  const take = async (amount: number, signal?: AbortSignal): Promise<void> => {
    for (;;) {
      if (signal?.aborted) throw new Aborted(abortReason(signal));
      const t = now();
      requests?.refill(t);
      tokens?.refill(t);
      const wait = Math.max(requests?.waitFor(1) ?? 0, tokens?.waitFor(amount) ?? 0);
      if (wait <= 0) {
        requests?.take(1);
        tokens?.take(amount);
        return;
      }
      // Loop rather than take after one sleep: `settle` may have moved the level meanwhile.
      await sleep(wait, signal);
    }
  };

  return {
    acquire(amount, signal) {
      const safe = Math.max(0, Math.ceil(amount));
      return queue.run(() => take(safe, signal));
    },
    settle(delta) {
      if (!tokens || delta === 0 || !Number.isFinite(delta)) return;
      tokens.refill(now());
      tokens.take(delta);
    },
  };
}

const positive = (n: number | undefined): n is number => n !== undefined && Number.isFinite(n) && n > 0;
