import { ownSgr } from './ownEscape.js';

/** ANSI colours, only when the output is a terminal (and NO_COLOR is not set by the caller). */
export interface Style {
  readonly bold: (s: string) => string;
  readonly dim: (s: string) => string;
  /** `text` (default: the status itself) in the status's colour. */
  readonly status: (status: string, text?: string) => string;
}

const wrap = (code: string) => (s: string): string => `${ownSgr(code)}${s}${ownSgr('0')}`;
const STATUS_COLOURS: Record<string, string> = {
  spawned: '37', running: '36', waiting: '33', completed: '32', failed: '31', terminated: '35',
  live: '36', pending: '37', skipped: '90',
};

export function createStyle(colour: boolean): Style {
  if (!colour) return { bold: (s) => s, dim: (s) => s, status: (s, text = s) => text };
  return { bold: wrap('1'), dim: wrap('2'), status: (s, text = s) => wrap(STATUS_COLOURS[s] ?? '0')(text) };
}

/**
 * A budget bar: the used share of `allocated` as filled cells, then the percentage.
 *
 * @example
 * budgetBar(250, 1000, 10) // '██▌░░░░░░░  25%'
 */
export function budgetBar(used: number, allocated: number, width = 12): string {
  const share = allocated > 0 ? Math.min(1, Math.max(0, used / allocated)) : 0;
  const eighths = Math.round(share * width * 2);
  const full = Math.floor(eighths / 2);
  const half = eighths % 2 === 1 ? '▌' : '';
  const bar = '█'.repeat(full) + half + '░'.repeat(Math.max(0, width - full - half.length));
  return `${bar} ${String(Math.round(share * 100)).padStart(3)}%`;
}

/** Tokens as 12.3k / 1.2M / 45G / 9,007T (a budget may be any safe integer: 9007199254.7M read badly). */
export function tokens(n: number): string {
  if (n >= 1e12) return `${Math.round(n / 1e12).toLocaleString('en-US')}T`;
  if (n >= 1e10) return `${Math.round(n / 1e9)}G`;
  if (n >= 1e9) return `${(n / 1e9).toFixed(1)}G`;
  if (n >= 10_000_000) return `${Math.round(n / 1_000_000)}M`;
  if (n >= 1_000_000) return `${(n / 1_000_000).toFixed(1)}M`;
  if (n >= 10_000) return `${Math.round(n / 1000)}k`;
  if (n >= 1_000) return `${(n / 1000).toFixed(1)}k`;
  return String(n);
}

/**
 * Dollars to a hundredth of a cent below $100: a call costs fractions of a cent, and rows shown
 * to the cent did not add up to their total (four rows of $0.01 above $0.05, a new user's sum).
 */
export const usd = (n: number): string => (n === 0 ? '$0' : Math.abs(n) < 100 ? `$${n.toFixed(4)}` : `$${n.toFixed(2)}`);
export const shortId = (id: string): string => (id.length > 13 ? `${id.slice(0, 8)}…${id.slice(-4)}` : id);
