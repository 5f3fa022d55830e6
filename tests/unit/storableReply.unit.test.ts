import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { NUL_REPLACEMENT, storableReply } from '../../src/actors/storableReply.js';
import type { ModelReply } from '../../src/actors/ports/modelProvider.js';

const usage = { inputTokens: 1, outputTokens: 1, cacheReadTokens: 0, cacheCreationTokens: 0 };
const reply = (content: ModelReply['content']): ModelReply => ({ model: 'm', content, stopReason: 'tool_use', usage });

describe('storableReply', () => {
  it('replaces every NUL, in text, tool inputs and keys, and nothing else', () => {
    const r = storableReply(reply([
      { type: 'text', text: 'a\0b' },
      { type: 'tool_use', id: 't1', name: 'write_file', input: { path: 'x\0/../y', nested: [{ 'k\0': '\0' }], n: 3, ok: true, nil: null } },
    ]));
    expect(JSON.stringify(r.content)).not.toContain('\\u0000');
    expect(r.content[0]).toEqual({ type: 'text', text: `a${NUL_REPLACEMENT}b` });
    expect(r.content[1]).toMatchObject({ input: { path: `x${NUL_REPLACEMENT}/../y`, nested: [{ [`k${NUL_REPLACEMENT}`]: NUL_REPLACEMENT }], n: 3, ok: true, nil: null } });
  });

  it('returns a reply without NUL unchanged (same object)', () => {
    fc.assert(
      fc.property(fc.string().filter((s) => !s.includes('\0')), (text) => {
        const r = reply([{ type: 'text', text }]);
        expect(storableReply(r)).toBe(r);
      }),
    );
    const literal = reply([{ type: 'text', text: 'the text \\u0000 stays' }]);
    expect(storableReply(literal).content).toEqual(literal.content);
  });
});
