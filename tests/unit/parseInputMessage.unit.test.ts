import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { parseInput } from '../../src/validation.js';
import { InvalidInput } from '../../src/errors.js';

describe('parseInput: the error names each field once', () => {
  const Template = z.object({ id: z.string().regex(/^[a-z]+$/, 'must be lowercase letters'), nodes: z.array(z.string()).min(1) });

  it('one issue: its field, then why', () => {
    const err = (() => {
      try {
        parseInput(Template, { id: 'ok', nodes: [] }, 'template');
      } catch (e) {
        return e as InvalidInput;
      }
    })();
    expect(err).toBeInstanceOf(InvalidInput);
    expect(err!.field).toBe('template.nodes');
    expect(err!.message).toBe('invalid template.nodes: Too small: expected array to have >=1 items');
  });

  it('several issues: the first field once (it read "invalid id: id: must be …"), then each other with its field', () => {
    expect(() => parseInput(Template, { id: 'Bad Name', nodes: [] })).toThrow(
      new InvalidInput('id', 'must be lowercase letters; nodes: Too small: expected array to have >=1 items'),
    );
    expect(() => parseInput(Template, { id: 'Bad Name', nodes: [] })).toThrow(/^invalid id: must be lowercase letters; nodes: /);
  });
});
