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

/** 500 ms, 3 s, 2.5 s, 1.5 min, 2 h: at most one decimal, trailing zero dropped. */
function durationText(ms: number): string {
  const [n, unit] = ms < 1000 ? [ms, 'ms'] : ms < 60_000 ? [ms / 1000, 's'] : ms < 3_600_000 ? [ms / 60_000, 'min'] : [ms / 3_600_000, 'h'];
  return `${Number(n.toFixed(1))} ${unit}`;
}
