import { describe, expect, it } from 'vitest';
import { timeoutReason } from '../../src/actors/timeoutReason.js';

describe('timeoutReason', () => {
  it('names the limit, its value and where it came from', () => {
    expect(timeoutReason(3000, 3000)).toBe('timed out after 3 s (DEFAULT_AGENT_TIMEOUT)');
    expect(timeoutReason(2500, null)).toBe('timed out after 2.5 s (its timeoutMs)');
    expect(timeoutReason(500, 600_000)).toBe('timed out after 500 ms (its timeoutMs)');
    expect(timeoutReason(600_000, 600_000)).toBe('timed out after 10 min (DEFAULT_AGENT_TIMEOUT)');
    expect(timeoutReason(7_200_000, null)).toBe('timed out after 2 h (its timeoutMs)');
    expect(timeoutReason(null, null)).toBe('timed out');
  });

  it('says the limit exactly: 1,050 and 1,150 ms are not both "1.1 s"', () => {
    expect(timeoutReason(1050, 1050)).toBe('timed out after 1.05 s (DEFAULT_AGENT_TIMEOUT)');
    expect(timeoutReason(1150, 1150)).toBe('timed out after 1.15 s (DEFAULT_AGENT_TIMEOUT)');
    expect(timeoutReason(1234, null)).toBe('timed out after 1234 ms (its timeoutMs)');
    expect(timeoutReason(61_000, null)).toBe('timed out after 61 s (its timeoutMs)');
    expect(timeoutReason(90_000, null)).toBe('timed out after 1.5 min (its timeoutMs)');
    expect(timeoutReason(5_400_000, null)).toBe('timed out after 1.5 h (its timeoutMs)');
  });
});
