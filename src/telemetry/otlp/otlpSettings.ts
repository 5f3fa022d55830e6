import { z } from 'zod';
import { ConfigError } from '../../errors.js';
import type { Env } from '../../infra/config.js';

const HttpUrl = z.url({ protocol: /^https?$/, error: 'expected an http:// or https:// URL such as http://localhost:4318/v1/traces' });

/**
 * Where and how spans go over OTLP/HTTP. `createAgentSystem({ otlp })` takes it; without that
 * option it comes from OpenTelemetry's standard variables (`otlpSettingsFromEnv`).
 */
export const OtlpSettingsSchema = z
  .object({
    /** The full traces URL, such as `http://localhost:4318/v1/traces`. */
    url: HttpUrl,
    /** `http/protobuf` (OpenTelemetry's default) or `http/json`. gRPC is not offered. */
    protocol: z.enum(['http/protobuf', 'http/json']).default('http/protobuf'),
    headers: z.record(z.string().min(1), z.string()).default({}),
    /** `service.name` on every span's resource. Default `cadre`. */
    serviceName: z.string().min(1).max(200).default('cadre'),
    /** How long one export request may take, in ms. Default 10,000 (the variable's default). */
    timeoutMs: z.number().int().positive().max(600_000).default(10_000),
    /** How often the live export looks for spans that ended, in ms. Default 1,000. */
    intervalMs: z.number().int().positive().max(3_600_000).default(1_000),
  })
  .strict();

export type OtlpSettings = z.output<typeof OtlpSettingsSchema>;

/** What the variables say besides the endpoint: what `--endpoint` keeps from them too. */
export interface OtlpEnv {
  /** The traces URL the variables name, or null. */
  readonly url: string | null;
  /** OTEL_TRACES_EXPORTER=none. */
  readonly off: boolean;
  readonly protocol: OtlpSettings['protocol'];
  readonly headers: Record<string, string>;
  readonly serviceName: string;
  readonly timeoutMs: number;
}

/** The traces-specific variable when set, else the general one: its value and its name (for errors). */
type OtelVariable = Extract<keyof Env, `OTEL_${string}`>;
function pick(env: Env, traces: OtelVariable, general: OtelVariable): { value: string | undefined; name: OtelVariable } {
  return env[traces] !== undefined ? { value: env[traces], name: traces } : { value: env[general], name: general };
}

/**
 * OpenTelemetry's exporter variables, checked: each bad value is refused naming its variable. The
 * traces-specific variables win over the general ones; the general endpoint gets `/v1/traces`
 * appended, as the specification says. A protocol this exporter cannot speak is refused, never
 * silently swapped.
 */
export function otlpEnv(env: Env): OtlpEnv {
  const endpoint = pick(env, 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', 'OTEL_EXPORTER_OTLP_ENDPOINT');
  let url: string | null = null;
  if (endpoint.value !== undefined) {
    const r = HttpUrl.safeParse(endpoint.value);
    if (!r.success) throw new ConfigError(endpoint.name, `expected an http:// or https:// URL such as http://localhost:4318, got ${JSON.stringify(endpoint.value.slice(0, 80))}`);
    url = endpoint.name === 'OTEL_EXPORTER_OTLP_ENDPOINT' ? `${endpoint.value.replace(/\/+$/, '')}/v1/traces` : endpoint.value;
  }
  const protocol = pick(env, 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL', 'OTEL_EXPORTER_OTLP_PROTOCOL');
  if (protocol.value === 'grpc') throw new ConfigError(protocol.name, 'grpc is not supported: use http/protobuf (the default) or http/json, which every OpenTelemetry Collector also accepts on port 4318 (or OTEL_TRACES_EXPORTER=none for no export)');
  if (protocol.value !== undefined && protocol.value !== 'http/protobuf' && protocol.value !== 'http/json') throw new ConfigError(protocol.name, `expected http/protobuf or http/json, got ${JSON.stringify(protocol.value.slice(0, 40))}`);
  const timeout = pick(env, 'OTEL_EXPORTER_OTLP_TRACES_TIMEOUT', 'OTEL_EXPORTER_OTLP_TIMEOUT');
  const timeoutMs = timeout.value === undefined ? 10_000 : Number(timeout.value);
  if (!Number.isInteger(timeoutMs) || timeoutMs <= 0 || timeoutMs > 600_000) throw new ConfigError(timeout.name, `expected a whole number of milliseconds from 1 to 600000, got ${JSON.stringify(String(timeout.value).slice(0, 40))}`);
  const exporter = env.OTEL_TRACES_EXPORTER;
  if (exporter !== undefined && exporter !== 'otlp' && exporter !== 'none') throw new ConfigError('OTEL_TRACES_EXPORTER', `expected otlp or none, got ${JSON.stringify(exporter.slice(0, 40))}`);
  const serviceName = env.OTEL_SERVICE_NAME ?? 'cadre';
  if (serviceName.length > 200) throw new ConfigError('OTEL_SERVICE_NAME', 'at most 200 characters');
  const headers = pick(env, 'OTEL_EXPORTER_OTLP_TRACES_HEADERS', 'OTEL_EXPORTER_OTLP_HEADERS');
  return { url, off: exporter === 'none', protocol: (protocol.value as OtlpSettings['protocol'] | undefined) ?? 'http/protobuf', headers: parseHeaders(headers.value ?? '', headers.name), serviceName, timeoutMs };
}

/** The settings the variables describe, sent to `url` (and `protocol`, when given): to be parsed with OtlpSettingsSchema. */
export function otlpInput(e: OtlpEnv, url: string, protocol: string = e.protocol): Record<string, unknown> {
  return { url, protocol, headers: e.headers, serviceName: e.serviceName, timeoutMs: e.timeoutMs };
}

/** The live export's settings from the variables, or null when no endpoint is set (or `OTEL_TRACES_EXPORTER=none`). */
export function otlpSettingsFromEnv(env: Env): OtlpSettings | null {
  const e = otlpEnv(env);
  return e.off || e.url === null ? null : OtlpSettingsSchema.parse(otlpInput(e, e.url));
}

/** `key1=value1,key2=value2`, values percent-decoded (the specification's W3C-baggage-like format). */
function parseHeaders(text: string, variable: string): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const pair of text.split(',')) {
    if (pair.trim() === '') continue;
    const eq = pair.indexOf('=');
    const key = eq < 0 ? '' : pair.slice(0, eq).trim();
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(key)) throw new ConfigError(variable, `expected key=value pairs separated by commas, got ${JSON.stringify(pair.trim().slice(0, 40))}`);
    try {
      headers[key] = decodeURIComponent(pair.slice(eq + 1).trim());
    } catch {
      throw new ConfigError(variable, `the value of ${key} is not valid percent-encoding`);
    }
  }
  return headers;
}
