import type { TraceSpan } from '../traceSpan.js';
import type { OtlpSettings } from './otlpSettings.js';
import { toReadableSpans } from './readableSpans.js';

/** Sends ended spans to one OTLP/HTTP endpoint. */
export interface SpanSender {
  /** Resolves once the receiver accepted them (the SDK retries what it may within the timeout); rejects otherwise. */
  send(spans: readonly TraceSpan[]): Promise<void>;
  close(): Promise<void>;
}

/** At most this many spans per request: a long run's history is sent in several. */
const SPANS_PER_REQUEST = 512;

/**
 * An exporter of OpenTelemetry's SDK for the settings' protocol, loaded on first use: the OTLP
 * packages (protobuf included) load only in a process that exports.
 *
 * @example
 * const sender = await openSpanSender(settings);
 * await sender.send(spans);
 */
export async function openSpanSender(settings: OtlpSettings): Promise<SpanSender> {
  const config = { url: settings.url, headers: settings.headers, timeoutMillis: settings.timeoutMs };
  const exporter = settings.protocol === 'http/json'
    ? new (await import('@opentelemetry/exporter-trace-otlp-http')).OTLPTraceExporter(config)
    : new (await import('@opentelemetry/exporter-trace-otlp-proto')).OTLPTraceExporter(config);
  const exportOnce = (spans: readonly TraceSpan[]): Promise<void> =>
    new Promise((resolve, reject) => {
      exporter.export(toReadableSpans(spans, settings.serviceName), (result) => {
        if (result.code === 0) resolve();
        else reject(new Error(`OTLP export to ${settings.url} failed: ${result.error?.message ?? 'no reason given'}`));
      });
    });
  return {
    async send(spans) {
      for (let i = 0; i < spans.length; i += SPANS_PER_REQUEST) await exportOnce(spans.slice(i, i + SPANS_PER_REQUEST));
    },
    close: () => exporter.shutdown(),
  };
}
