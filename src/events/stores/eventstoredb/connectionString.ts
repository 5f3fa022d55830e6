import { InvalidInput } from '../../../errors.js';

/** The URL schemes the official client understands; `esdb` is its deprecated alias of `kurrentdb`. */
const SCHEMES = ['kurrentdb', 'kurrentdb+discover', 'kurrent', 'kurrent+discover', 'kdb', 'kdb+discover', 'esdb', 'esdb+discover'] as const;

const SCHEME_RE = /^([a-z][a-z0-9+.-]*):\/\/(.*)$/i;

/**
 * Checks a KurrentDB/EventStoreDB connection string before the client sees it and returns the
 * form to hand to it: `esdb://` and `esdb+discover://` become `kurrentdb://` and
 * `kurrentdb+discover://` (the same protocol; the client prints a deprecation warning for `esdb`).
 * Throws `InvalidInput` naming `connectionString`, without echoing credentials.
 *
 * @example
 * normalizeConnectionString('esdb://127.0.0.1:2113?tls=false'); // 'kurrentdb://127.0.0.1:2113?tls=false'
 */
export function normalizeConnectionString(value: unknown): string {
  if (typeof value !== 'string' || value.trim() === '') {
    throw new InvalidInput('connectionString', 'must be a non-empty string such as kurrentdb://127.0.0.1:2113?tls=false');
  }
  const trimmed = value.trim();
  const match = SCHEME_RE.exec(trimmed);
  const scheme = match?.[1]?.toLowerCase();
  if (!match || !scheme || !(SCHEMES as readonly string[]).includes(scheme)) {
    const shown = scheme ? `${scheme}://` : 'no scheme';
    throw new InvalidInput('connectionString', `must start with kurrentdb://, kurrent://, esdb:// (or their +discover forms), got ${shown}`);
  }
  const rest = match[2] ?? '';
  const hosts = rest.replace(/^[^@/?]*@/, '').split(/[/?]/)[0] ?? '';
  if (hosts === '') throw new InvalidInput('connectionString', 'names no host, e.g. kurrentdb://127.0.0.1:2113?tls=false');
  const target = scheme === 'esdb' ? 'kurrentdb' : scheme === 'esdb+discover' ? 'kurrentdb+discover' : scheme;
  return `${target}://${rest}`;
}

/**
 * Why the client refused a connection string: where and what its parser expected, never the text
 * it read there (that may be the password).
 *
 * @example
 * describeParseError(parseError); // 'could not be parsed at character 39: expected true or false'
 */
export function describeParseError(err: unknown): string {
  const location = typeof err === 'object' && err !== null ? (err as { location?: unknown }).location : undefined;
  const expected = typeof err === 'object' && err !== null ? (err as { expected?: unknown }).expected : undefined;
  const at = Array.isArray(location) && typeof location[0] === 'number' ? ` at character ${location[0]}` : '';
  return typeof expected === 'string' ? `could not be parsed${at}: expected ${expected}` : 'could not be parsed';
}
