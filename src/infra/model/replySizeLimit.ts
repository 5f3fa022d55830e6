import { ModelError } from '../../errors.js';

/** What a reply may hold whatever its max_tokens: the message's framing, usage, ids and names. */
const FIXED_REPLY_BYTES = 1024 * 1024;
/**
 * Bytes a reply may take per output token it may make. A token stands for a few bytes of text
 * (a word piece, or one CJK character's three), JSON-escaped at most six times over (`\u0000`);
 * a streamed reply wraps each delta in an event of about 110 bytes, one token a delta at worst.
 */
const BYTES_PER_OUTPUT_TOKEN = 256;
/** The largest max_tokens any model takes today (128k), for a request whose own cannot be read. */
const LARGEST_MAX_TOKENS = 128_000;

/**
 * The most bytes a Messages API reply to `body` may take: 1 MiB plus 256 per token of its
 * `max_tokens` (2 MiB at 4,096). A hostile or broken server's 150 MB reply held 2.2 GB of this
 * process (about 20 times the reply, while the SDK parsed it) and then failed the call as out of
 * memory: an error, so the call was charged nothing.
 */
export function replyByteLimit(body: unknown): number {
  // The SDK sends the parameters as JSON with `max_tokens` right after `model`: an unescaped
  // `"max_tokens":` is a key (a string's quotes are escaped), and the first one is the request's.
  const maxTokens = typeof body === 'string' ? /"max_tokens":(\d{1,9})[,}]/.exec(body)?.[1] : undefined;
  return FIXED_REPLY_BYTES + BYTES_PER_OUTPUT_TOKEN * (maxTokens === undefined ? LARGEST_MAX_TOKENS : Number(maxTokens));
}

/** The error a reply's body fails with past its limit: answered (the server replied and bills it), so charged its reservation. */
export function replyTooLarge(limit: number, seen: number, declared: boolean): ModelError {
  const size = declared ? `declares ${seen.toLocaleString('en-US')} bytes` : `went past ${limit.toLocaleString('en-US')} bytes`;
  return new ModelError(`the model API's reply ${size}, more than its max_tokens allows (${limit.toLocaleString('en-US')} bytes at most): not read further`, { answered: true });
}

/**
 * A `fetch` for the SDK whose replies stop at `replyByteLimit`: the body errors with
 * `replyTooLarge` once more has arrived (or at once, when its Content-Length says so), and the
 * rest is not read. The request itself went out once: nothing here throws from the fetch, which
 * the SDK would take for a failed connection and send again.
 *
 * @example
 * new Anthropic({ apiKey, fetch: sizeLimitedFetch(fetch) });
 */
export function sizeLimitedFetch(inner: typeof fetch): typeof fetch {
  return async (input, init) => {
    const limit = replyByteLimit(init?.body);
    const response = await inner(input, init);
    if (!response.body) return response;
    const declared = Number(response.headers.get('content-length') ?? NaN);
    const source = response.body;
    let seen = 0;
    const body = declared > limit
      ? new ReadableStream<Uint8Array>({ start: (controller) => void source.cancel().finally(() => controller.error(replyTooLarge(limit, declared, true))) })
      : source.pipeThrough(new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, controller) {
          seen += chunk.byteLength;
          if (seen > limit) controller.error(replyTooLarge(limit, seen, false));
          else controller.enqueue(chunk);
        },
      }));
    return new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
  };
}
