import { isLoopbackHost } from '../isLoopbackHost.js';

/**
 * Whether the model API's base URL may carry the API key: https anywhere, plain http only to this
 * machine (localhost, 127.0.0.0/8, [::1]), where a local proxy or a test server listens. The key
 * travels in a header with every request; over http to another host anyone on the path reads it.
 *
 * @example
 * keySafeBaseUrl('https://api.anthropic.com'); // true
 * keySafeBaseUrl('http://127.0.0.1:8080'); // true
 * keySafeBaseUrl('http://proxy.example.com'); // false
 */
export function keySafeBaseUrl(url: string): boolean {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return false;
  }
  if (parsed.protocol === 'https:') return true;
  if (parsed.protocol !== 'http:') return false;
  return isLoopbackHost(parsed.hostname.toLowerCase());
}

/** The refusal, in the words of both the environment variable and the option. */
export const KEY_SAFE_BASE_URL_MESSAGE = 'expected an https:// URL (http:// only to this machine: localhost, 127.x.x.x, [::1]): the API key travels with every request';
