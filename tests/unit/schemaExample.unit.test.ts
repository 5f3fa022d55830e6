import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { jsonSchemaOf } from '../../src/actors/jsonSchemaOf.js';
import { checkStructuredOutput } from '../../src/actors/structuredOutput.js';
import { schemaExample } from '../../src/infra/model/schemaExample.js';

describe('schemaExample (the offline model filling a schema)', () => {
  const accepted = (schema: z.ZodType) => {
    const json = jsonSchemaOf(schema);
    const value = schemaExample(json, 'text');
    expect(schema.safeParse(value).success, JSON.stringify(value)).toBe(true);
    expect(checkStructuredOutput(json, value).ok).toBe(true);
    return value;
  };

  it('gives a value the schema accepts, for the shapes tools and answers use', () => {
    expect(accepted(z.object({ city: z.string().min(1), unit: z.enum(['C', 'F']).default('C') }))).toEqual({ city: 'text' });
    expect(accepted(z.object({ n: z.number().int().min(3).max(9), ok: z.boolean(), tags: z.array(z.string()).min(2) }))).toEqual({ n: 3, ok: true, tags: ['text', 'text'] });
    expect(accepted(z.object({ code: z.string().min(6).max(8), kind: z.literal('a'), nested: z.object({ at: z.number().positive() }) }))).toEqual({ code: 'text..', kind: 'a', nested: { at: 0.5 } });
    expect(accepted(z.union([z.string(), z.number()]))).toBe('text');
    expect(accepted(z.string().max(2))).toBe('te');
  });
});

describe('checkStructuredOutput', () => {
  it('names every problem by its path under output', () => {
    const json = jsonSchemaOf(z.object({ approved: z.boolean(), score: z.number().int().max(10) }));
    const r = checkStructuredOutput(json, { approved: 'yes', score: 11 });
    expect(r.ok).toBe(false);
    expect(!r.ok && r.problems).toMatch(/^output\.approved: .*; output\.score: /);
    expect(checkStructuredOutput(json, { approved: true, score: 3 })).toEqual({ ok: true, text: '{"approved":true,"score":3}' });
  });
});
