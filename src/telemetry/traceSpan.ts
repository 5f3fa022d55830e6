/**
 * One span of a run's trace, derived from recorded events (spansOfAgent.ts): an agent's life, a
 * model call, or a tool call. The dashboard's waterfall (`GET /api/trace/:rootId`), `cadre trace`
 * and the OTLP export all read this shape. Ids are hex as OpenTelemetry wants them (32 digits for
 * a trace, 16 for a span) and deterministic, so deriving twice gives the same spans.
 */
export interface TraceSpan {
  readonly spanId: string;
  /** Absent on the root agent's span. */
  readonly parentSpanId?: string;
  readonly traceId: string;
  readonly kind: 'agent' | 'model' | 'tool';
  /** `invoke_agent <role>`, `chat <model>` or `execute_tool <tool>` (the GenAI conventions' span names). */
  readonly name: string;
  readonly agentId: string;
  /** Epoch milliseconds, from the events' recorded times. */
  readonly startMs: number;
  /** Absent while it runs. */
  readonly endMs?: number;
  readonly status: 'ok' | 'error' | 'running' | 'cancelled';
  /** Values as OpenTelemetry allows them: a string, number, boolean, or an array of strings (`gen_ai.response.finish_reasons`). */
  readonly attributes: Readonly<Record<string, string | number | boolean | readonly string[]>>;
}

/** A run's spans as of a global position: the root's and every descendant's. */
export interface Trace {
  readonly rootId: string;
  /** The highest position the spans reflect (the `upTo` asked for, or the last event read). */
  readonly position: number;
  readonly spans: readonly TraceSpan[];
}
