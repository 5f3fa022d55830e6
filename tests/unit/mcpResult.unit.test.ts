import { describe, expect, it } from 'vitest';
import { mcpToolOutcome } from '../../src/infra/mcp/mcpResult.js';

/** What the model reads of an MCP server's answer to a tool call (an untrusted answer). */
describe('mcpToolOutcome', () => {
  it('joins text content, one block a line', () => {
    expect(mcpToolOutcome({ content: [{ type: 'text', text: 'a' }, { type: 'text', text: 'b' }] })).toEqual({ text: 'a\nb', isError: false });
  });

  it('keeps isError', () => {
    expect(mcpToolOutcome({ content: [{ type: 'text', text: 'no such city' }], isError: true })).toEqual({ text: 'no such city', isError: true });
  });

  it('shows other content as JSON, base64 payloads as their size', () => {
    const image = { type: 'image', mimeType: 'image/png', data: 'A'.repeat(400) };
    const resource = { type: 'resource', resource: { uri: 'file:///x.bin', blob: 'B'.repeat(8) } };
    const out = mcpToolOutcome({ content: [{ type: 'text', text: 'see:' }, image, resource] });
    expect(out.text.split('\n')).toEqual([
      'see:',
      JSON.stringify({ type: 'image', mimeType: 'image/png', data: '[300 bytes of base64 data]' }),
      JSON.stringify({ type: 'resource', resource: { uri: 'file:///x.bin', blob: '[6 bytes of base64 data]' } }),
    ]);
  });

  it('cuts a long answer, an error too', () => {
    const out = mcpToolOutcome({ content: [{ type: 'text', text: 'x'.repeat(100_000) }], isError: true });
    expect(out.isError).toBe(true);
    expect(out.text).toHaveLength(64_000 + '\n[truncated]'.length);
    expect(out.text.endsWith('\n[truncated]')).toBe(true);
  });

  it('falls back to structured content, and reads the old { toolResult } answer', () => {
    expect(mcpToolOutcome({ content: [], structuredContent: { sum: 5 } })).toEqual({ text: '{"sum":5}', isError: false });
    expect(mcpToolOutcome({ toolResult: { sum: 5 } })).toEqual({ text: '{"sum":5}', isError: false });
  });

  it('an answer that is not a tool result is an error the model reads', () => {
    expect(mcpToolOutcome({ content: 'five' })).toMatchObject({ isError: true, text: expect.stringMatching(/not a tool result: content:/) });
    expect(mcpToolOutcome(null)).toMatchObject({ isError: true });
  });
});
