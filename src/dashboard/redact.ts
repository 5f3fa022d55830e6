const SECRET_KEY = /^(api[_-]?key|x-api-key|authorization|password|passwd|secret|client[_-]?secret|access[_-]?token|refresh[_-]?token|auth[_-]?token|token|connection[_-]?string|database[_-]?url)$/i;
const URL_PASSWORD = /([a-z][a-z0-9+.-]*:\/\/[^:/?#@\s]+:)([^@/\s]+)(@)/gi;
const KEY_LIKE = /\b(sk-ant-[A-Za-z0-9_-]{8,}|sk-[A-Za-z0-9]{20,})\b/g;

/**
 * Removes secrets from anything the dashboard sends: values under secret-looking keys, passwords
 * inside connection strings, and strings shaped like API keys.
 *
 * @example
 * redact({ url: 'postgres://u:hunter2@db/x' }) // { url: 'postgres://u:***@db/x' }
 */
export function redact(value: unknown, depth = 0): unknown {
  if (depth > 64) return '[too deep]';
  if (typeof value === 'string') return value.replace(URL_PASSWORD, '$1***$3').replace(KEY_LIKE, '[redacted]');
  if (typeof value === 'bigint') return value.toString();
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = SECRET_KEY.test(k) && (typeof v === 'string' || typeof v === 'number') ? '[redacted]' : redact(v, depth + 1);
    return out;
  }
  return value;
}
