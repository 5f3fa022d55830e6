import { describe, expect, it } from 'vitest';
import { packed, refOf, TOOLS_REF, unpacked } from '../../src/infra/postgres/blobParts.js';

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
