import { describe, expect, it } from 'vitest';
import { readEnv } from '../../src/infra/config.js';
import { otlpSettingsFromEnv } from '../../src/telemetry/otlp/otlpSettings.js';

const settings = (env: Record<string, string>) => otlpSettingsFromEnv(readEnv(env));

describe('OTLP settings from the standard variables', () => {
  it('is off without an endpoint, or with OTEL_TRACES_EXPORTER=none', () => {
    expect(settings({})).toBeNull();
    expect(settings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_TRACES_EXPORTER: 'none' })).toBeNull();
  });

  it('appends /v1/traces to the general endpoint; the traces variables win over the general ones', () => {
    expect(settings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' })).toEqual({ url: 'http://collector:4318/v1/traces', protocol: 'http/protobuf', headers: {}, serviceName: 'cadre', timeoutMs: 10_000, intervalMs: 1_000 });
    expect(settings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://a:4318', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://b/custom', OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf', OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/json', OTEL_SERVICE_NAME: 'agents', OTEL_EXPORTER_OTLP_TIMEOUT: '2500' })).toMatchObject({ url: 'https://b/custom', protocol: 'http/json', serviceName: 'agents', timeoutMs: 2500 });
  });

  it('reads headers as key=value pairs, percent-decoded, and names the variable of a bad one', () => {
    expect(settings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_EXPORTER_OTLP_HEADERS: 'x-honeycomb-team=abc%3D%3D, authorization=Bearer%20t' })!.headers).toEqual({ 'x-honeycomb-team': 'abc==', authorization: 'Bearer t' });
    expect(settings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_EXPORTER_OTLP_HEADERS: 'a=1', OTEL_EXPORTER_OTLP_TRACES_HEADERS: 'b=2' })!.headers).toEqual({ b: '2' });
    expect(() => settings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_EXPORTER_OTLP_TRACES_HEADERS: 'no-equals-sign' })).toThrow(/OTEL_EXPORTER_OTLP_TRACES_HEADERS: expected key=value pairs/);
    expect(() => settings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_EXPORTER_OTLP_HEADERS: 'a=%E0%A4%A' })).toThrow(/OTEL_EXPORTER_OTLP_HEADERS: the value of a is not valid percent-encoding/);
  });

  it('refuses what it cannot do, naming the variable: gRPC, a protocol typo, an endpoint that is not a URL, a timeout that is not a number', () => {
    expect(() => settings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4317', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' })).toThrow(/OTEL_EXPORTER_OTLP_PROTOCOL: grpc is not supported/);
    expect(() => settings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4317', OTEL_EXPORTER_OTLP_PROTOCOL: 'http/proto' })).toThrow(/OTEL_EXPORTER_OTLP_PROTOCOL: expected http\/protobuf or http\/json, got "http\/proto"/);
    expect(() => settings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' })).toThrow(/OTEL_EXPORTER_OTLP_ENDPOINT: expected an http:\/\/ or https:\/\/ URL/);
    expect(() => settings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_EXPORTER_OTLP_TIMEOUT: 'abc' })).toThrow(/OTEL_EXPORTER_OTLP_TIMEOUT: expected a whole number of milliseconds/);
    expect(() => settings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_TRACES_EXPORTER: 'jaeger' })).toThrow(/OTEL_TRACES_EXPORTER: expected otlp or none/);
    expect(settings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_EXPORTER_OTLP_TIMEOUT: '1000', OTEL_EXPORTER_OTLP_TRACES_TIMEOUT: '2000' })!.timeoutMs).toBe(2000);
  });

  it('are checked only where spans are exported: reading the environment for anything else does not trip on them', () => {
    expect(() => readEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: 'notaurl', OTEL_EXPORTER_OTLP_TIMEOUT: 'abc', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' })).not.toThrow();
  });
});
