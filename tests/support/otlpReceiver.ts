import { createServer, type IncomingMessage, type Server } from 'node:http';
import protobuf from 'protobufjs';

/** A span as a receiver got it, whichever encoding carried it: ids in hex, times in ms. */
export interface ReceivedSpan {
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId: string;
  readonly name: string;
  /** OTLP's SpanKind number: 1 internal, 3 client. */
  readonly kind: number;
  readonly startMs: number;
  readonly endMs: number;
  /** 0 unset, 1 ok, 2 error. */
  readonly statusCode: number;
  readonly attributes: Record<string, string | number | boolean | (string | number | boolean)[]>;
  readonly serviceName: string;
  readonly scope: string;
}

export interface OtlpReceiver {
  /** The traces URL, e.g. http://127.0.0.1:PORT/v1/traces. */
  readonly url: string;
  /** The origin, for OTEL_EXPORTER_OTLP_ENDPOINT. */
  readonly origin: string;
  readonly spans: ReceivedSpan[];
  /** Requests seen: content type, and the headers a test asked to keep. */
  readonly requests: { contentType: string; authorization: string | undefined }[];
  /** While set, requests get this status (and an answer echoing the request's authorization header) and nothing is kept. */
  failWith: number | null;
  /** While set, requests get no answer at all. */
  hang: boolean;
  close(): Promise<void>;
}

/**
 * The OTLP trace request's messages (opentelemetry-proto, trace/v1 and common/v1), only the
 * fields a check reads: decoding them with protobufjs checks the exporter's bytes independently
 * of the OpenTelemetry packages that wrote them.
 */
const PROTO = {
  nested: {
    KeyValue: { fields: { key: { type: 'string', id: 1 }, value: { type: 'AnyValue', id: 2 } } },
    AnyValue: { oneofs: { value: { oneof: ['stringValue', 'boolValue', 'intValue', 'doubleValue', 'arrayValue'] } }, fields: { stringValue: { type: 'string', id: 1 }, boolValue: { type: 'bool', id: 2 }, intValue: { type: 'int64', id: 3 }, doubleValue: { type: 'double', id: 4 }, arrayValue: { type: 'ArrayValue', id: 5 } } },
    ArrayValue: { fields: { values: { rule: 'repeated', type: 'AnyValue', id: 1 } } },
    Resource: { fields: { attributes: { rule: 'repeated', type: 'KeyValue', id: 1 } } },
    Scope: { fields: { name: { type: 'string', id: 1 }, version: { type: 'string', id: 2 } } },
    Status: { fields: { message: { type: 'string', id: 2 }, code: { type: 'int32', id: 3 } } },
    Span: {
      fields: {
        traceId: { type: 'bytes', id: 1 }, spanId: { type: 'bytes', id: 2 }, parentSpanId: { type: 'bytes', id: 4 }, name: { type: 'string', id: 5 }, kind: { type: 'int32', id: 6 },
        startTimeUnixNano: { type: 'fixed64', id: 7 }, endTimeUnixNano: { type: 'fixed64', id: 8 }, attributes: { rule: 'repeated', type: 'KeyValue', id: 9 }, status: { type: 'Status', id: 15 },
      },
    },
    ScopeSpans: { fields: { scope: { type: 'Scope', id: 1 }, spans: { rule: 'repeated', type: 'Span', id: 2 } } },
    ResourceSpans: { fields: { resource: { type: 'Resource', id: 1 }, scopeSpans: { rule: 'repeated', type: 'ScopeSpans', id: 2 } } },
    ExportTraceServiceRequest: { fields: { resourceSpans: { rule: 'repeated', type: 'ResourceSpans', id: 1 } } },
  },
};
const Request = protobuf.Root.fromJSON(PROTO).lookupType('ExportTraceServiceRequest');

type Json = Record<string, unknown>;
const hexOf = (v: unknown): string => (typeof v === 'string' ? v : Buffer.from(v as Uint8Array).toString('hex'));
const num = (v: unknown): number => Number(typeof v === 'object' && v !== null ? String(v) : v);
/** Nanoseconds (a decimal string or a Long) to ms, exactly: a Number of nanoseconds since 1970 is past 2^53. */
const msOfNanos = (v: unknown): number => Number(BigInt(String(v)) / 1_000_000n) + Number(BigInt(String(v)) % 1_000_000n) / 1e6;
type Scalar = string | number | boolean;
const scalarOf = (v: Json): Scalar => (v.stringValue !== undefined ? String(v.stringValue) : v.boolValue !== undefined ? Boolean(v.boolValue) : v.intValue !== undefined ? num(v.intValue) : num(v.doubleValue));
const valueOf = (v: Json): Scalar | Scalar[] => (v.arrayValue !== undefined ? (((v.arrayValue as Json).values as Json[] | undefined) ?? []).map(scalarOf) : scalarOf(v));
const attrs = (list: unknown): Record<string, Scalar | Scalar[]> => Object.fromEntries(((list as Json[] | undefined) ?? []).map((kv) => [String(kv.key), valueOf(kv.value as Json)]));

function spansOf(request: Json): ReceivedSpan[] {
  return ((request.resourceSpans as Json[] | undefined) ?? []).flatMap((rs) => {
    const serviceName = String(attrs((rs.resource as Json | undefined)?.attributes)['service.name'] ?? '');
    return ((rs.scopeSpans as Json[] | undefined) ?? []).flatMap((ss) =>
      ((ss.spans as Json[] | undefined) ?? []).map((s) => ({
        traceId: hexOf(s.traceId),
        spanId: hexOf(s.spanId),
        parentSpanId: s.parentSpanId ? hexOf(s.parentSpanId) : '',
        name: String(s.name),
        kind: num(s.kind ?? 0),
        startMs: msOfNanos(s.startTimeUnixNano),
        endMs: msOfNanos(s.endTimeUnixNano),
        statusCode: num((s.status as Json | undefined)?.code ?? 0),
        attributes: attrs(s.attributes),
        serviceName,
        scope: String((ss.scope as Json | undefined)?.name ?? ''),
      })),
    );
  });
}

async function body(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/**
 * A local OTLP/HTTP trace receiver (what a Collector listens for on 4318): decodes
 * `application/x-protobuf` and `application/json` export requests and keeps their spans.
 */
export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const spans: ReceivedSpan[] = [];
  const requests: OtlpReceiver['requests'] = [];
  const state = { failWith: null as number | null, hang: false };
  const server: Server = createServer((req, res) => {
    void (async () => {
      const bytes = await body(req);
      if (req.method !== 'POST' || req.url !== '/v1/traces') return void res.writeHead(404).end();
      if (state.hang) return;
      if (state.failWith !== null) return void res.writeHead(state.failWith, { 'content-type': 'text/plain' }).end(`refused: bad request from ${req.headers.authorization ?? 'nobody'}`);
      const contentType = String(req.headers['content-type'] ?? '');
      requests.push({ contentType, authorization: req.headers.authorization });
      const request = contentType.includes('json') ? (JSON.parse(bytes.toString('utf8')) as Json) : (Request.toObject(Request.decode(bytes), { longs: String }) as Json);
      spans.push(...spansOf(request));
      res.writeHead(200, { 'content-type': contentType.includes('json') ? 'application/json' : 'application/x-protobuf' }).end(contentType.includes('json') ? '{}' : undefined);
    })().catch(() => res.writeHead(400).end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  const origin = `http://127.0.0.1:${port}`;
  return {
    url: `${origin}/v1/traces`,
    origin,
    spans,
    requests,
    get failWith() {
      return state.failWith;
    },
    set failWith(v) {
      state.failWith = v;
    },
    get hang() {
      return state.hang;
    },
    set hang(v) {
      state.hang = v;
    },
    close: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
