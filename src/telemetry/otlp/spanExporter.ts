import type { TraceSpan } from '../traceSpan.js';
import type { OtlpSettings } from './otlpSettings.js';
import { toReadableSpans } from './readableSpans.js';

/** Sends ended spans to one OTLP/HTTP endpoint. */
export interface SpanSender {
  /** Resolves once the receiver accepted them (the SDK retries what it may within the timeout); rejects otherwise. */
  send(spans: readonly TraceSpan[]): Promise<void>;
  close(): Promise<void>;
}

/** A send the receiver refused (`status` its HTTP answer) or that never reached it (no status). */
export class SpanSendError extends Error {
  constructor(message: string, readonly status: number | null) {
    super(message);
    this.name = 'SpanSendError';
  }
}

/** The exporter's error as one line: the receiver's status and the start of its answer, which usually says what it disliked. */
function sendError(url: string, error: (Error & { code?: unknown; data?: unknown }) | undefined): SpanSendError {
  const status = typeof error?.code === 'number' ? error.code : null;
  const body = typeof error?.data === 'string' ? error.data.replace(/\s+/g, ' ').trim().slice(0, 300) : '';
  const what = status === null ? error?.message ?? 'no reason given' : `the receiver answered ${status} ${error?.message ?? ''}`.trim() + (body ? `: ${body}` : '');
  return new SpanSendError(`OTLP export to ${url} failed: ${what}`, status);
}

/** A receiver may echo the request's headers in its answer: their values (API keys) never reach a message. */
function withoutHeaderValues(err: SpanSendError, headers: Readonly<Record<string, string>>): SpanSendError {
  let message = err.message;
  for (const v of Object.values(headers)) if (v.length >= 4) message = message.split(v).join('[redacted]');
  return message === err.message ? err : new SpanSendError(message, err.status);
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
        else reject(withoutHeaderValues(sendError(settings.url, result.error), settings.headers));
      });
    });
  return {
    async send(spans) {
      for (let i = 0; i < spans.length; i += SPANS_PER_REQUEST) await exportOnce(spans.slice(i, i + SPANS_PER_REQUEST));
    },
    close: () => exporter.shutdown(),
  };
}
