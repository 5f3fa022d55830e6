import type { ModelUsage } from './ports/modelProvider.js';

/** US dollars per million tokens of each kind. */
export interface ModelPrice {
  readonly input: number;
  readonly output: number;
  readonly cacheRead: number;
  /** Writing the prompt cache (the 5-minute cache; the 1-hour cache costs more). */
  readonly cacheWrite: number;
}

/** Model-name prefixes to prices; the longest matching prefix wins. */
export type PriceTable = Readonly<Record<string, ModelPrice>>;

const FREE: ModelPrice = { input: 0, output: 0, cacheRead: 0, cacheWrite: 0 };
const price = (input: number, output: number): ModelPrice => ({
  input,
  output,
  // Anthropic's published ratios: cache reads at 0.1x input, 5-minute cache writes at 1.25x.
  cacheRead: input / 10,
  cacheWrite: input * 1.25,
});

/**
 * Default prices (USD per million tokens) as Anthropic published them when this table was
 * written. A family prefix carries the newest generation's price; older models with a
 * different price have longer, more specific prefixes. Pass your own table to `costOf` when
 * prices change: this module never fetches anything.
 */
export const DEFAULT_PRICES: PriceTable = {
  'claude-opus-4': price(5, 25), // Opus 4.5 and later
  'claude-opus-4-0': price(15, 75),
  'claude-opus-4-1': price(15, 75),
  'claude-opus-4-2025': price(15, 75), // claude-opus-4-20250514
  'claude-sonnet-4': price(3, 15),
  'claude-3-7-sonnet': price(3, 15),
  'claude-haiku': price(1, 5), // Haiku 4.5 and later
  'claude-3-5-haiku': price(0.8, 4),
  'claude-3-haiku': price(0.25, 1.25),
  offline: FREE,
  scripted: FREE,
};

/**
 * The price of `model`: the entry with the longest prefix of its name, else undefined.
 *
 * @example
 * priceOf('claude-sonnet-4-6'); // { input: 3, output: 15, cacheRead: 0.3, cacheWrite: 3.75 }
 */
export function priceOf(model: string, table: PriceTable = DEFAULT_PRICES): ModelPrice | undefined {
  let best: string | undefined;
  for (const prefix of Object.keys(table)) {
    if (model.startsWith(prefix) && (best === undefined || prefix.length > best.length)) best = prefix;
  }
  return best === undefined ? undefined : table[best];
}

/**
 * What `usage` cost on `model`, in US dollars. A model missing from the table costs 0: the
 * figure is for reports, and budgets are enforced in tokens, never in dollars.
 *
 * @example
 * costOf('claude-sonnet-4-6', { inputTokens: 1_000_000, outputTokens: 0, cacheReadTokens: 0, cacheCreationTokens: 0 }); // 3
 */
export function costOf(model: string, usage: ModelUsage, table: PriceTable = DEFAULT_PRICES): number {
  const p = priceOf(model, table);
  if (p === undefined) return 0;
  return toUsd(
    (usage.inputTokens * p.input +
      usage.outputTokens * p.output +
      usage.cacheReadTokens * p.cacheRead +
      usage.cacheCreationTokens * p.cacheWrite) /
      1_000_000,
  );
}

/**
 * A dollar figure without binary float noise (to 10^-10 dollars, far below any price per token):
 * three calls summed to `"costUsd": 0.011999999999999999` in `cadre run --json` (a new user's try).
 */
export const toUsd = (x: number): number => Math.round(x * 1e10) / 1e10;

/** `a + b` dollars, as `toUsd` keeps them: every sum of costs goes through it. */
export const addUsd = (a: number, b: number): number => toUsd(a + b);

/**
 * `costOf` that calls `warn(model)` the first time it is asked about a model with no price in
 * `table` (once per model name for the function's life, i.e. once per process for the CLI):
 * such a model's calls cost $0 in every report, which should not pass silently.
 *
 * @example
 * const cost = costOfWarningUnpriced((m) => log.warn({ model: m }, `no price is known for model ${m}`));
 * cost('claude-nonexistent-9', usage); // 0, and warns once
 */
export function costOfWarningUnpriced(warn: (model: string) => void, table: PriceTable = DEFAULT_PRICES): (model: string, usage: ModelUsage) => number {
  const warned = new Set<string>();
  return (model, usage) => {
    if (priceOf(model, table) === undefined && !warned.has(model)) {
      warned.add(model);
      warn(model);
    }
    return costOf(model, usage, table);
  };
}
