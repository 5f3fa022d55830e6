/** How a growing pause grows: `baseMs · 2^attempt`, capped, optionally randomised. */
export interface BackoffOptions {
  /** The pause at attempt 0 (attempt 1 is twice this, and so on). */
  readonly baseMs: number;
  /** The longest pause, before jitter is added. Default: no cap. */
  readonly maxMs?: number;
  /**
   * `'full'`: a uniform pick in [0, pause), so that many waiters that failed together do not all
   * retry together. A number: up to that many ms added to the pause. Default: none.
   */
  readonly jitter?: 'full' | number;
  /** A uniform number in [0, 1); default `Math.random`. Tests pass their own. */
  readonly random?: () => number;
}

/**
 * Exponential backoff's exponent stops here: 2^40 ms is decades, far above any cap, and the
 * product stays finite however many attempts a loop counts.
 */
const MAX_EXPONENT = 40;

/**
 * The pause before retry number `attempt` (0 for the first retry, or whatever a caller's loop
 * counts from: each call site keeps its own numbers), in ms.
 *
 * @example
 * await sleep(backoffMs(failures, { baseMs: 50, maxMs: 5000 }));        // 50, 100, 200, … 5000
 * await sleep(backoffMs(conflicts, { baseMs: 1, maxMs: 50, jitter: 'full' }));
 */
export function backoffMs(attempt: number, options: BackoffOptions): number {
  const { baseMs, maxMs = Number.POSITIVE_INFINITY, jitter, random = Math.random } = options;
  const exponent = Math.min(Math.max(0, Math.floor(attempt)), MAX_EXPONENT);
  const pause = Math.min(maxMs, baseMs * 2 ** exponent);
  if (jitter === 'full') return random() * pause;
  if (typeof jitter === 'number') return pause + random() * jitter;
  return pause;
}
