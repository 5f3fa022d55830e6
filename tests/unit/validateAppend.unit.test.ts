import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { z } from 'zod';
import { validateAppend } from '../../src/events/stores/validateAppend.js';
import { InvalidInput } from '../../src/errors.js';

// The rules of an appended event, as the port documents them: validateAppend checks the common
// case by hand before its zod schemas, and must accept and refuse exactly what this does.
const Spec = z.object({
  id: z.uuid(),
  type: z.string().min(1).max(200),
  data: z.unknown().refine((d) => d !== undefined),
  metadata: z.looseObject({
    correlationId: z.string().min(1).optional(),
    causationId: z.string().min(1).optional(),
    schemaVersion: z.number().int().positive().optional(),
    at: z.string().min(1),
  }),
});

const maybe = <T>(a: fc.Arbitrary<T>) => fc.oneof(a, fc.constant(undefined));
const anyValue = fc.oneof(fc.string(), fc.integer(), fc.constant(null), fc.constant(undefined), fc.double(), fc.array(fc.string(), { maxLength: 2 }), fc.dictionary(fc.string({ maxLength: 3 }), fc.string(), { maxKeys: 2 }));
const id = fc.oneof(fc.uuid(), fc.constant('00000000-0000-0000-0000-000000000000'), fc.constant('ffffffff-ffff-ffff-ffff-ffffffffffff'), fc.constant('not-a-uuid'), fc.uuid().map((u) => u.toUpperCase()), fc.uuid().map((u) => `${u.slice(0, 14)}0${u.slice(15)}`), anyValue);
const type = fc.oneof(fc.string({ minLength: 0, maxLength: 3 }), fc.constant('x'.repeat(200)), fc.constant('x'.repeat(201)), anyValue);
const name = fc.oneof(fc.string({ maxLength: 3 }), anyValue);
const metadata = fc.oneof(
  fc.record({ at: name, correlationId: maybe(name), causationId: maybe(name), schemaVersion: maybe(fc.oneof(fc.integer({ min: -2, max: 3 }), fc.constant(2 ** 53), fc.double(), anyValue)), leaseTo: maybe(anyValue) }, { requiredKeys: [] }),
  anyValue,
);
const event = fc.oneof(fc.record({ id, type, data: anyValue, metadata }, { requiredKeys: [] }), anyValue);

describe('validateAppend', () => {
  it("accepts and refuses an event exactly as the port's rules do (its hand check never widens them)", () => {
    fc.assert(
      fc.property(event, (e) => {
        // A stream outside agent-<id> needs both names; an agent stream may leave them out.
        const stream = 'agent-a1';
        const expected = Spec.safeParse(e).success;
        let accepted = true;
        try {
          validateAppend(stream, [e as never], 'any');
        } catch (err) {
          if (!(err instanceof InvalidInput)) throw err;
          accepted = false;
        }
        expect(accepted).toBe(expected);
      }),
      { numRuns: 3000 },
    );
  });

  it('names the field that is wrong', () => {
    const ok = { id: '6f1c3c1e-0a5e-4f43-9d1c-2f0a9b1e7c11', type: 'T', data: {}, metadata: { at: 'now' } };
    expect(() => validateAppend('agent-a1', [ok, { ...ok, id: 'nope' }], 'any')).toThrow(/events\[1\]\.id/);
    expect(() => validateAppend('agent-a1', [{ ...ok, metadata: { at: '' } }], 'any')).toThrow(/events\[0\]\.metadata\.at/);
    expect(() => validateAppend('', [ok], 'any')).toThrow(/streamId/);
    expect(() => validateAppend('a\u0000b', [ok], 'any')).toThrow(/streamId/);
  });
});
