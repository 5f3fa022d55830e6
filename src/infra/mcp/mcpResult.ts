import { z } from 'zod';

/**
 * What an MCP server answers to a tool call, as far as cadre reads it. The server is outside
 * this process, so its answer is parsed like any other untrusted input; unknown members are
 * kept (and shown) rather than refused, since newer protocol versions add content kinds.
 */
const CallToolAnswer = z.object({
  content: z.array(z.object({ type: z.string() }).loose()).default([]),
  structuredContent: z.record(z.string(), z.unknown()).optional(),
  isError: z.boolean().optional(),
}).loose();

/** An MCP tool's answer as the model reads it. */
export interface McpToolOutcome {
  readonly text: string;
  readonly isError: boolean;
}

/**
 * Text content is joined (one block a line); any other content (images, audio, resources) is
 * shown as JSON with its base64 payload replaced by its size, which the model cannot read
 * anyway and which would fill its context. With no content, the structured content as JSON.
 *
 * @example
 * mcpToolOutcome({ content: [{ type: 'text', text: '5' }] }); // { text: '5', isError: false }
 * mcpToolOutcome({ content: [{ type: 'text', text: 'no such city' }], isError: true }); // { text: 'no such city', isError: true }
 */
export function mcpToolOutcome(answer: unknown): McpToolOutcome {
  // Servers of protocol 2024-10-07 and before answer `{ toolResult }`.
  if (typeof answer === 'object' && answer !== null && 'toolResult' in answer && !('content' in answer)) return { text: JSON.stringify(answer.toolResult) ?? '', isError: false };
  const parsed = CallToolAnswer.safeParse(answer);
  if (!parsed.success) return { text: `the MCP server's answer is not a tool result: ${parsed.error.issues.map((i) => `${i.path.join('.') || 'answer'}: ${i.message}`).join('; ')}`, isError: true };
  const a = parsed.data;
  const parts = a.content.map((block) => (block.type === 'text' && typeof block.text === 'string' ? block.text : JSON.stringify(summarised(block))));
  const text = parts.length > 0 ? parts.join('\n') : a.structuredContent ? JSON.stringify(a.structuredContent) : '';
  return { text: capped(text), isError: a.isError === true };
}

/** As long as the runner keeps any tool's result: an error result too, which it does not cut. */
const MAX_TEXT = 64_000;
const capped = (text: string): string => (text.length > MAX_TEXT ? `${text.slice(0, MAX_TEXT)}\n[truncated]` : text);

/** A content block with its base64 payloads (`data` of images and audio, `blob` of resources) replaced by their decoded size. */
function summarised(block: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(block)) {
    if ((key === 'data' || key === 'blob') && typeof value === 'string') out[key] = `[${Math.floor((value.length * 3) / 4)} bytes of base64 data]`;
    else if (key === 'resource' && typeof value === 'object' && value !== null) out[key] = summarised(value as Record<string, unknown>);
    else out[key] = value;
  }
  return out;
}
