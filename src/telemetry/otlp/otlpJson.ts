import { JsonTraceSerializer } from '@opentelemetry/otlp-transformer';
import type { TraceSpan } from '../traceSpan.js';
import { toReadableSpans } from './readableSpans.js';

/**
 * The spans as an OTLP/JSON `ExportTraceServiceRequest`: what an OTLP/HTTP receiver accepts
 * with `Content-Type: application/json`, and what `cadre trace --otlp-json <file>` writes (a
 * Collector's `otlpjsonfile` receiver, or `curl --data @file`, can send it on).
 */
export function otlpJson(spans: readonly TraceSpan[], serviceName: string): string {
  const bytes = JsonTraceSerializer.serializeRequest(toReadableSpans(spans, serviceName));
  if (!bytes) throw new Error('the OTLP serializer produced nothing');
  return new TextDecoder().decode(bytes);
}
