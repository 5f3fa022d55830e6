/**
 * Why a timed-out agent failed, naming the limit and where it came from: the deadline's
 * timestamp alone ("timed out at 2026-12-04T06:22:59Z") left the user to guess which setting.
 *
 * @example
 * timeoutReason(3000, 3000)   // 'timed out after 3 s (DEFAULT_AGENT_TIMEOUT)'
 * timeoutReason(90_000, null) // 'timed out after 1.5 min (its timeoutMs)'
 */
export function timeoutReason(timeoutMs: number | null, defaultTimeoutMs: number | null): string {
  if (timeoutMs === null) return 'timed out';
  const source = timeoutMs === defaultTimeoutMs ? 'DEFAULT_AGENT_TIMEOUT' : 'its timeoutMs';
  return `timed out after ${durationText(timeoutMs)} (${source})`;
}

/**
 * 500 ms, 3 s, 2.5 s, 1.05 s, 1.5 min, 61 s, 2 h: the largest unit that says it exactly with at
 * most two decimals. One decimal, rounded, showed 1,050 and 1,150 ms alike as "1.1 s" (a new
 * user's try).
 */
function durationText(ms: number): string {
  for (const [size, unit] of UNITS) {
    if (ms >= size && Number.isInteger((ms * 100) / size)) return `${Number((ms / size).toFixed(2))} ${unit}`;
  }
  return `${ms} ms`;
}

const UNITS: ReadonlyArray<readonly [number, string]> = [[3_600_000, 'h'], [60_000, 'min'], [1000, 's']];
