import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { stringifyJson } from '../../src/infra/stringifyJson.js';

describe('stringifyJson', () => {
  it('writes what JSON.stringify writes, compact and indented', () => {
    fc.assert(fc.property(fc.jsonValue(), fc.constantFrom(0, 2), (v, indent) => {
      expect(stringifyJson(v, indent)).toBe(JSON.stringify(v, null, indent));
    }), { numRuns: 500 });
    for (const v of [{}, [], { a: undefined, b: 1 }, [undefined, () => 1], { d: new Date(0) }, { a: [], b: {} }, { a: { b: [1, { c: [] }] } }]) {
      for (const indent of [0, 2]) expect(stringifyJson(v, indent)).toBe(JSON.stringify(v, null, indent));
    }
    expect(stringifyJson({ n: 2n ** 70n })).toBe('{"n":"1180591620717411303424"}');
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(() => stringifyJson(cyclic)).toThrow(TypeError);
  });

  it('writes a tree nested 10,000 levels deep, where JSON.stringify overflows the stack', () => {
    const root = { id: 0, children: [] as unknown[] };
    let at = root;
    for (let i = 1; i <= 10_000; i++) {
      const next = { id: i, children: [] as unknown[] };
      at.children.push(next);
      at = next;
    }
    expect(() => JSON.stringify(root)).toThrow(/call stack/);
    const text = stringifyJson(root, 2);
    expect(text.length).toBeLessThan(10_000 * 1_000); // indentation capped: not quadratic in the depth
    let parsed = JSON.parse(text) as { id: number; children: unknown[] };
    let depth = 0;
    while (parsed.children.length > 0) {
      parsed = parsed.children[0] as typeof parsed;
      depth++;
    }
    expect(depth).toBe(10_000);
  });
});
