/**
 * Whether a host name or address is this machine: `localhost`, 127.0.0.0/8, or ::1 (bare, as
 * a bind address, or bracketed, as `URL.hostname` gives it). The one test for where the API key
 * may go over http, where a `.env` may point the store, and where the dashboard may bind
 * without a token.
 *
 * @example
 * isLoopbackHost('127.0.0.1'); // true
 * isLoopbackHost('127.0.0.1.evil.example'); // false
 */
export const isLoopbackHost = (host: string): boolean =>
  host === 'localhost' || host === '::1' || host === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
