import type { ModelMessage } from '../ports/modelProvider.js';
import type { RuntimeContext } from './runtimeContext.js';

/** Tool results longer than this are stored in the blob table and referenced. */
const INLINE_TOOL_OUTPUT = 2048;
const BLOB_PREFIX = 'blob:';

/**
 * Large tool results (file contents, command output) live once in the blob table; the event
 * keeps a reference, so streams stay small. The next prompt resolves it (resolveBlobs).
 */
export async function offloadToolOutput<R extends { output: string }>(rt: RuntimeContext, name: string, raw: R): Promise<R> {
  if (raw.output.length <= INLINE_TOOL_OUTPUT || name === 'finish') return raw;
  return { ...raw, output: `${BLOB_PREFIX}${await rt.deps.blobs.put(raw.output)}` };
}

/** Replaces blob references in tool results with their content for the next prompt. */
export async function resolveBlobs(rt: RuntimeContext, messages: ModelMessage[]): Promise<ModelMessage[]> {
  return Promise.all(
    messages.map(async (m) => ({
      ...m,
      content: await Promise.all(
        m.content.map(async (b) =>
          b.type === 'tool_result' && b.content.startsWith(BLOB_PREFIX) ? { ...b, content: String(await rt.deps.blobs.get(b.content.slice(BLOB_PREFIX.length))) } : b,
        ),
      ),
    })),
  );
}
