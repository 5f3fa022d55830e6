import { SpanKind, SpanStatusCode, TraceFlags } from '@opentelemetry/api';
import type { HrTime } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import type { ReadableSpan } from '@opentelemetry/sdk-trace';
import type { TraceSpan } from '../traceSpan.js';

/** The instrumentation scope every exported span names: cadre, deriving spans from its events. */
const SCOPE = { name: 'cadre' } as const;

const hrTime = (ms: number): HrTime => [Math.floor(ms / 1000), Math.round((ms % 1000) * 1e6)];

/**
 * cadre's spans in the SDK's export shape. They were never live SDK spans: ids and times come
 * from the recorded events (traceSpan.ts), so the same run exported twice, by any process, sends
 * the same spans. A model call is a CLIENT span (the GenAI conventions' `chat`), the rest
 * INTERNAL. A terminated agent's span, or a call its agent's end cut short, keeps status UNSET
 * with `cadre.status: cancelled` (being stopped is not an error). Only ended spans can be sent.
 *
 * @example
 * exporter.export(toReadableSpans(trace.spans.filter((s) => s.endMs !== undefined), 'cadre'), done)
 */
export function toReadableSpans(spans: readonly TraceSpan[], serviceName: string): ReadableSpan[] {
  const resource = resourceFromAttributes({ 'service.name': serviceName });
  return spans.map((s) => {
    if (s.endMs === undefined) throw new Error(`span ${s.spanId} (${s.name}) is still running: only ended spans are exported`);
    const context = { traceId: s.traceId, spanId: s.spanId, traceFlags: TraceFlags.SAMPLED };
    const status =
      s.status === 'ok'
        ? { code: SpanStatusCode.OK }
        : s.status === 'error'
          ? { code: SpanStatusCode.ERROR, message: String(s.attributes['cadre.error'] ?? s.attributes['cadre.reason'] ?? 'failed') }
          : { code: SpanStatusCode.UNSET };
    const durationMs = Math.max(0, s.endMs - s.startMs);
    return {
      name: s.name,
      kind: s.kind === 'model' ? SpanKind.CLIENT : SpanKind.INTERNAL,
      spanContext: () => context,
      ...(s.parentSpanId ? { parentSpanContext: { traceId: s.traceId, spanId: s.parentSpanId, traceFlags: TraceFlags.SAMPLED } } : {}),
      startTime: hrTime(s.startMs),
      endTime: hrTime(s.endMs),
      duration: hrTime(durationMs),
      status,
      attributes: { ...s.attributes, ...(s.status === 'cancelled' ? { 'cadre.status': 'cancelled' } : {}) },
      links: [],
      events: [],
      ended: true,
      resource,
      instrumentationScope: SCOPE,
      droppedAttributesCount: 0,
      droppedEventsCount: 0,
      droppedLinksCount: 0,
    };
  });
}
