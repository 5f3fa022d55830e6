import { describe, expect, it } from 'vitest';
import { DEFAULT_PRICES, addUsd, costOf, costOfWarningUnpriced, priceOf } from '../../src/actors/pricing.js';

const usage = (inputTokens: number, outputTokens: number, cacheReadTokens = 0, cacheCreationTokens = 0) => ({
  inputTokens, outputTokens, cacheReadTokens, cacheCreationTokens,
});

describe('pricing', () => {
  it('matches model families by the longest prefix', () => {
    expect(priceOf('claude-sonnet-4-6')).toEqual({ input: 3, output: 15, cacheRead: 0.3, cacheWrite: 3.75 });
    expect(priceOf('claude-opus-4-5-20251101')?.input).toBe(5);
    expect(priceOf('claude-opus-4-1-20250805')?.input).toBe(15);
    expect(priceOf('claude-opus-4-20250514')?.input).toBe(15);
    expect(priceOf('claude-haiku-4-5')?.output).toBe(5);
    expect(priceOf('claude-3-5-haiku-latest')?.input).toBe(0.8);
    expect(priceOf('gpt-4')).toBeUndefined();
  });

  it('costs each kind of token at its own price', () => {
    expect(costOf('claude-sonnet-4-6', usage(1_000_000, 0))).toBeCloseTo(3);
    expect(costOf('claude-sonnet-4-6', usage(0, 1_000_000))).toBeCloseTo(15);
    expect(costOf('claude-sonnet-4-6', usage(0, 0, 1_000_000))).toBeCloseTo(0.3);
    expect(costOf('claude-sonnet-4-6', usage(0, 0, 0, 1_000_000))).toBeCloseTo(3.75);
    expect(costOf('claude-haiku-4-5', usage(2000, 1000, 500, 100))).toBeCloseTo((2000 * 1 + 1000 * 5 + 500 * 0.1 + 100 * 1.25) / 1e6);
  });

  it('is free offline and for unknown models, and takes a custom table', () => {
    expect(costOf('offline-rules-v1', usage(1e6, 1e6))).toBe(0);
    expect(costOf('scripted', usage(1e6, 1e6))).toBe(0);
    expect(costOf('mystery-model', usage(1e6, 1e6))).toBe(0);
    const table = { ...DEFAULT_PRICES, 'claude-sonnet-4': { input: 1, output: 2, cacheRead: 0, cacheWrite: 0 } };
    expect(costOf('claude-sonnet-4-6', usage(1e6, 1e6), table)).toBe(3);
  });

  it('says once per model name when a model has no price (its cost is $0)', () => {
    const warned: string[] = [];
    const cost = costOfWarningUnpriced((m) => warned.push(m));
    expect(cost('claude-nonexistent-9', usage(1e6, 1e6))).toBe(0);
    expect(cost('claude-nonexistent-9', usage(1e6, 1e6))).toBe(0);
    expect(cost('claude-sonnet-4-6', usage(1e6, 0))).toBeCloseTo(3);
    expect(cost('offline-rules-v1', usage(1, 1))).toBe(0);
    expect(cost('mystery-model', usage(1, 1))).toBe(0);
    expect(warned).toEqual(['claude-nonexistent-9', 'mystery-model']);
  });

  it('keeps costs and their sums free of float noise (three calls read 0.011999999999999999 in run --json)', () => {
    const calls = [usage(1000, 100), usage(1000, 100), usage(1000, 100)].map((u) => costOf('claude-sonnet-4-6', u));
    expect(calls).toEqual([0.0045, 0.0045, 0.0045]);
    const five = [0.0024, 0.0024, 0.0024, 0.0024, 0.0024];
    expect(five.reduce((a, b) => a + b, 0)).not.toBe(0.012); // what a plain sum gives: 0.011999999999999999
    expect(five.reduce(addUsd, 0)).toBe(0.012);
    expect(calls.reduce(addUsd, 0)).toBe(0.0135);
  });
});
