/**
 * One redaction for everything cadre stores, logs or shows: strings shaped like API keys, bearer
 * tokens and passwords inside URLs, plus the exact values of the secrets cadre was configured
 * with (API key, dashboard token, database password), which need not look like anything. Pure:
 * the secrets are passed in (`createRedactor`), never read from the environment here.
 */

const KEY_LIKE = /\b(?:sk-ant-[A-Za-z0-9_-]{8,}|sk-[A-Za-z0-9]{20,})/g;
const BEARER = /\b(Bearer|Basic|Token)(\s+)[A-Za-z0-9._~+/=-]{8,}/gi;
/**
 * `scheme://user:password@` (the password part); `scheme://user@` is left alone. The scheme is
 * bounded (the last 32 characters of a longer one still match): unbounded, every letter of a long
 * run was a start that scanned to the run's end, quadratic — a 200 KB tool result took 6 s of CPU
 * here, and 1 MB stalled the process for good.
 */
const URL_PASSWORD = /([a-z][a-z0-9+.-]{0,31}:\/\/[^:/?#@\s"'<>]*:)([^@/\s"'<>]+)(@)/gi;
const HEADER_SECRET = /\b(x-api-key|api[_-]?key|authorization)(["']?\s*[:=]\s*["']?)(?!\[redacted\])[^\s"',;}]{8,}/gi;
/**
 * Text none of the patterns above can match lacks every one of these (case aside): `text` returns
 * it unchanged without running them. They took ~10 µs on a 500-character event, and the runtime
 * looks at every event it decides (callerSecrets.ts); this test takes ~1.
 */
const MAY_MATCH = /sk-|:\/\/|bearer|basic|token|api[_-]?key|authorization/i;
/** Values under these keys are dropped whatever they hold. */
const SECRET_KEY = /^(api[_-]?key|x-api-key|authorization|password|passwd|secret|client[_-]?secret|access[_-]?token|refresh[_-]?token|auth[_-]?token|token|connection[_-]?string|database[_-]?url)$/i;

export const REDACTED = '[redacted]';

/** Secrets shorter than this are not matched by value (too likely to be ordinary text). */
const MIN_SECRET = 6;

export interface Redactor {
  /** The text with every secret and secret-shaped string replaced. */
  text(text: string): string;
  /**
   * A copy of a JSON-like value with secret-keyed members dropped and every string redacted
   * (Errors become `{ type, message, stack, ... }`); walks iteratively, so any depth is fine.
   */
  value(value: unknown): unknown;
  /** Adds a secret known only later (a dashboard token given on the command line). */
  addSecret(secret: string | null | undefined): void;
}

/** The password inside a URL (`postgres://u:pw@h/db` → `pw`), decoded and raw, if any. */
export function urlPassword(url: string | null | undefined): string[] {
  if (!url) return [];
  try {
    const p = new URL(url).password;
    return p ? [p, decodeURIComponent(p)] : [];
  } catch {
    return [];
  }
}

const escapeRe = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * @example
 * const r = createRedactor([apiKey, ...urlPassword(databaseUrl)]);
 * r.text(`invalid x-api-key: ${apiKey}`) // 'invalid x-api-key: [redacted]'
 */
export function createRedactor(secrets: readonly (string | null | undefined)[] = []): Redactor {
  const known = new Set<string>();
  let exact: RegExp | null = null;
  let knownForms: string[] = [];
  const addSecret = (s: string | null | undefined): void => {
    if (!s || s.length < MIN_SECRET) return;
    // The value as written, percent-encoded (in a URL) and JSON-escaped (in a log line).
    for (const form of [s, encodeURIComponent(s), JSON.stringify(s).slice(1, -1)]) known.add(form);
    knownForms = [...known].sort((a, b) => b.length - a.length);
    exact = new RegExp(knownForms.map(escapeRe).join('|'), 'g');
  };
  secrets.forEach(addSecret);
  const text = (t: string): string => {
    if (!MAY_MATCH.test(t) && !knownForms.some((k) => t.includes(k))) return t;
    let out = exact ? t.replace(exact, REDACTED) : t;
    out = out.replace(URL_PASSWORD, '$1***$3').replace(KEY_LIKE, REDACTED).replace(BEARER, `$1$2${REDACTED}`).replace(HEADER_SECRET, `$1$2${REDACTED}`);
    return out;
  };
  const value = (input: unknown): unknown => {
    const leaf = (v: unknown): unknown => (typeof v === 'string' ? text(v) : typeof v === 'bigint' ? v.toString() : v);
    const open = (v: object): { out: Record<string, unknown> | unknown[]; entries: [string, unknown][] } => {
      if (Array.isArray(v)) return { out: new Array<unknown>(v.length), entries: v.map((x, i) => [String(i), x]) };
      if (v instanceof Error) {
        const e = v as Error & { cause?: unknown };
        const fields: [string, unknown][] = [['type', e.name], ['message', e.message], ['stack', e.stack], ...Object.entries(e)];
        // `new Error(m, { cause })` makes `cause` non-enumerable; the SDK's echoed body sits there.
        if (e.cause !== undefined && !Object.prototype.propertyIsEnumerable.call(e, 'cause')) fields.push(['cause', e.cause]);
        return { out: {}, entries: fields };
      }
      return { out: {}, entries: Object.entries(v) };
    };
    // A Date has no own entries: opened like an object it became `{}` (the dashboard's dead letters'
    // sentAt); it is what JSON makes of it, its ISO string.
    const dateText = (d: Date): string => (Number.isNaN(d.getTime()) ? 'Invalid Date' : d.toISOString());
    if (input instanceof Date) return dateText(input);
    if (input === null || typeof input !== 'object') return leaf(input);
    const seen = new Set<object>();
    const root = open(input);
    seen.add(input);
    const stack = [root];
    while (stack.length > 0) {
      const { out, entries } = stack.pop()!;
      for (const [k, v] of entries) {
        let put: unknown;
        if (!Array.isArray(out) && SECRET_KEY.test(k) && (typeof v === 'string' || typeof v === 'number')) put = REDACTED;
        else if (v === null || typeof v !== 'object') put = leaf(v);
        else if (v instanceof Date) put = dateText(v);
        else if (seen.has(v)) put = '[seen]';
        else {
          seen.add(v);
          const child = open(v);
          stack.push(child);
          put = child.out;
        }
        if (Array.isArray(out)) out[Number(k)] = put;
        else out[k] = put;
      }
    }
    return root.out;
  };
  return { text, value, addSecret };
}

/** Pattern-only redaction (no configured values): for places that know no secrets. */
export const patternRedactor: Redactor = { ...createRedactor(), addSecret: () => {} };
