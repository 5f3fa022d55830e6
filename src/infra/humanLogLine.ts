const LEVELS: Readonly<Record<number, string>> = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' };
/** pino's own fields and the ones the line already shows. */
const SHOWN = new Set(['level', 'time', 'pid', 'hostname', 'app', 'msg', 'err', 'agentId', 'component', 'provider']);

/**
 * One pino JSON line as one readable line for a terminal (the CLI's default, `LOG_FORMAT=human`):
 * `cadre warn: model call failed: model API error 429 (rate_limit_error): … (agent 082f6f28…)`.
 * An error shows its message only (no stack, no cause: the body it echoes is already in the
 * message); at debug and trace the other plain fields follow as `key=value`. A line that is not
 * JSON passes through.
 *
 * @example
 * humanLogLine('{"level":40,"msg":"sweep failed","err":"boom"}\n'); // 'cadre warn: sweep failed: boom\n'
 */
export function humanLogLine(line: string): string {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  if (o === null || typeof o !== 'object') return line;
  const level = typeof o.level === 'number' ? (LEVELS[o.level] ?? String(o.level)) : 'log';
  const err = errorText(o.err);
  const parts = [`cadre ${level}: `, typeof o.msg === 'string' ? o.msg : '', err ? `: ${err}` : ''];
  if (typeof o.agentId === 'string') parts.push(` (agent ${o.agentId})`);
  if (level === 'debug' || level === 'trace') {
    const extra = Object.entries(o).filter(([k, v]) => !SHOWN.has(k) && (v === null || typeof v !== 'object')).map(([k, v]) => `${k}=${String(v)}`);
    if (extra.length > 0) parts.push(` ${extra.join(' ')}`);
  }
  return `${parts.join('').replace(/\s*\n\s*/g, ' ')}\n`;
}

function errorText(err: unknown): string {
  if (typeof err === 'string') return err;
  if (err && typeof err === 'object' && typeof (err as { message?: unknown }).message === 'string') return (err as { message: string }).message;
  return '';
}
