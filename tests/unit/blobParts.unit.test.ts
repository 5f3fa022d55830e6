import { describe, expect, it } from 'vitest';
import { BLOCK_REF, BLOCKS_PACKED, packed, refOf, TOOLS_REF, unpacked } from '../../src/infra/postgres/blobParts.js';

/** Keys in the order Postgres returns a jsonb object's. */
const jsonbOrder = (o: Record<string, unknown>): string[] => Object.keys(o).sort((a, b) => a.length - b.length || (a < b ? -1 : a > b ? 1 : 0));

describe('a model request stored without its tools (blobParts)', () => {
  const request = { system: 'You are…', tools: [{ name: 'finish', inputSchema: { type: 'object' } }], messages: [{ role: 'user', content: 'hi' }], maxTokens: 10, agent: { id: 'a1' } };

  it('stores the request naming a tools blob, and reads the whole request back in jsonb key order', async () => {
    const json = JSON.stringify(request);
    const p = packed(request, json);
    expect(p.parts).toHaveLength(1);
    expect(p.parts[0]!.ref).toBe(refOf(JSON.stringify(request.tools)));
    const stored = JSON.parse(p.json) as Record<string, unknown>;
    expect(stored.tools).toBeUndefined();
    expect(stored[TOOLS_REF]).toBe(p.parts[0]!.ref);
    const blobs = new Map(p.parts.map((x) => [x.ref, JSON.parse(x.json) as unknown]));
    const back = (await unpacked(stored, async (ref) => blobs.get(ref))) as Record<string, unknown>;
    expect(back).toEqual(request);
    expect(Object.keys(back)).toEqual(jsonbOrder(request));
  });

  it('leaves anything else whole: no tools, empty tools, an array, a string, a key of its own named $toolsRef', async () => {
    for (const v of [{ a: 1 }, { tools: [] }, [1, 2], 'text', { tools: [1], [TOOLS_REF]: 'x' }]) {
      const json = JSON.stringify(v);
      expect(packed(v, json)).toEqual({ json, parts: [] });
    }
    expect(await unpacked({ a: 1 }, () => Promise.reject(new Error('no load')))).toEqual({ a: 1 });
  });
});

/** `v` as Postgres returns jsonb: every object's keys shorter first, then bytewise. */
const asJsonb = (v: unknown): unknown =>
  Array.isArray(v) ? v.map(asJsonb) : typeof v === 'object' && v !== null ? Object.fromEntries(jsonbOrder(v as Record<string, unknown>).map((k) => [k, asJsonb((v as Record<string, unknown>)[k])])) : v;

describe('a model request stored without what earlier turns stored (blobParts)', () => {
  const output = (n: number): string => `file ${n}: ${'x'.repeat(3000)}`;
  const reply = (n: number) => ({ role: 'assistant', content: [{ type: 'text', text: `Reading ${n}.` }, { type: 'tool_use', id: `t${n}`, name: 'read', input: { n } }] });
  const results = (n: number) => ({ role: 'user', content: [{ type: 'tool_result', toolUseId: `t${n}`, content: output(n), isError: false }, { type: 'tool_result', toolUseId: `s${n}`, content: 'short' }] });
  const longText = { type: 'text', text: `Task: ${'do it. '.repeat(60)}` };
  const request = { system: 's', maxTokens: 10, messages: [{ role: 'user', content: [longText] }, reply(1), results(1), reply(2), results(2)] };

  it('names each tool output by the ref the runtime stored it under, and long earlier blocks by theirs; short ones and the last message’s other blocks stay inline', () => {
    const p = packed(request, JSON.stringify(request));
    const stored = JSON.parse(p.json) as { messages: Array<{ content: Array<Record<string, unknown>> }> };
    const refs = new Set(p.parts.map((x) => x.ref));
    // toolOutputBlobs.ts stores an output with blobs.put(string): the ref of its JSON text.
    expect(refs).toEqual(new Set([refOf(JSON.stringify(output(1))), refOf(JSON.stringify(output(2))), refOf(JSON.stringify(longText))]));
    expect((stored as unknown as Record<string, unknown>)[BLOCKS_PACKED]).toBe(true);
    expect(stored.messages[0]!.content[0]).toEqual({ [BLOCK_REF]: refOf(JSON.stringify(longText)) });
    expect(stored.messages[1]).toEqual(reply(1));
    expect(stored.messages[4]!.content[0]).toEqual({ type: 'tool_result', toolUseId: 't2', content: { [BLOCK_REF]: refOf(JSON.stringify(output(2))) }, isError: false });
    expect(stored.messages[4]!.content[1]).toEqual(results(2).content[1]);
    expect(p.json.length).toBeLessThan(JSON.stringify(request).length / 5);
  });

  it('reads back exactly the request as a whole blob read back: every key in jsonb order', async () => {
    const p = packed(request, JSON.stringify(request));
    const table = new Map([...p.parts.map((x) => [x.ref, asJsonb(JSON.parse(x.json))] as const)]);
    const back = await unpacked(asJsonb(JSON.parse(p.json)), async (ref) => table.get(ref));
    expect(JSON.stringify(back)).toBe(JSON.stringify(asJsonb(request)));
  });

  it('a one-turn request with a long task is one blob, as before; a request holding a block shaped like a ref is stored whole', async () => {
    const one = { system: 's', messages: [{ role: 'user', content: [longText] }] };
    expect(packed(one, JSON.stringify(one))).toEqual({ json: JSON.stringify(one), parts: [] });
    const lookalike = { messages: [{ role: 'user', content: [{ [BLOCK_REF]: 'sha256:0', pad: 'y'.repeat(300) }] }, { role: 'user', content: [] }] };
    expect(packed(lookalike, JSON.stringify(lookalike))).toEqual({ json: JSON.stringify(lookalike), parts: [] });
    const result = { messages: [{ role: 'user', content: [{ type: 'tool_result', toolUseId: 'a', content: { [BLOCK_REF]: 'sha256:0' } }] }] };
    expect(packed(result, JSON.stringify(result)).parts).toEqual([]);
    // Stored whole, they read back as they are: nothing is loaded for them.
    for (const v of [lookalike, result, { ...request, [BLOCKS_PACKED]: 'no' }]) expect(await unpacked(v, () => Promise.reject(new Error('no load')))).toEqual(v);
  });
});
