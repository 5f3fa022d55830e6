import { z } from 'zod';
import { ConfigError } from '../../errors.js';
import type { Env } from '../../infra/config.js';

/**
 * Where and how spans go over OTLP/HTTP. `createAgentSystem({ otlp })` takes it; without that
 * option it comes from OpenTelemetry's standard variables (`otlpSettingsFromEnv`).
 */
export const OtlpSettingsSchema = z
  .object({
    /** The full traces URL, such as `http://localhost:4318/v1/traces`. */
    url: z.url({ protocol: /^https?$/, error: 'expected an http:// or https:// URL such as http://localhost:4318/v1/traces' }),
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
export type OtlpOptions = z.input<typeof OtlpSettingsSchema>;

/**
 * The settings the standard variables describe, or null when no endpoint is set (or
 * `OTEL_TRACES_EXPORTER=none`). The traces-specific variables win over the general ones; the
 * general endpoint gets `/v1/traces` appended, as the specification says. A protocol this
 * exporter cannot speak is refused naming its variable, never silently swapped.
 */
export function otlpSettingsFromEnv(env: Env): OtlpSettings | null {
  if (env.OTEL_TRACES_EXPORTER === 'none') return null;
  const url = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? (env.OTEL_EXPORTER_OTLP_ENDPOINT === undefined ? undefined : `${env.OTEL_EXPORTER_OTLP_ENDPOINT.replace(/\/+$/, '')}/v1/traces`);
  if (url === undefined) return null;
  const protocolVar = env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL !== undefined ? 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL' : 'OTEL_EXPORTER_OTLP_PROTOCOL';
  const protocol = env[protocolVar] ?? 'http/protobuf';
  if (protocol === 'grpc') throw new ConfigError(protocolVar, 'grpc is not supported: use http/protobuf (the default) or http/json, which every OpenTelemetry Collector also accepts on port 4318 (or OTEL_TRACES_EXPORTER=none for no export)');
  const headersVar = env.OTEL_EXPORTER_OTLP_TRACES_HEADERS !== undefined ? 'OTEL_EXPORTER_OTLP_TRACES_HEADERS' : 'OTEL_EXPORTER_OTLP_HEADERS';
  return OtlpSettingsSchema.parse({
    url,
    protocol,
    headers: parseHeaders(env[headersVar] ?? '', headersVar),
    ...(env.OTEL_SERVICE_NAME ? { serviceName: env.OTEL_SERVICE_NAME } : {}),
    ...(env.OTEL_EXPORTER_OTLP_TIMEOUT ? { timeoutMs: env.OTEL_EXPORTER_OTLP_TIMEOUT } : {}),
  });
}

/** `key1=value1,key2=value2`, values percent-decoded (the specification's W3C-baggage-like format). */
export function parseHeaders(text: string, variable: string): Record<string, string> {
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
