import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { redactedTextStream } from '../../src/infra/model/redactedTextStream.js';

const SECRET = 'sk-ant-api03-SECRETSECRET';
const redact = (t: string): string => t.replaceAll(SECRET, '[redacted]');

/** Everything a stream emits for `text` cut into `cuts`. */
function streamed(text: string, cuts: number[]): string[] {
  const out: string[] = [];
  const s = redactedTextStream(redact, (t) => out.push(t));
  let at = 0;
  for (const c of [...cuts].sort((a, b) => a - b)) {
    s.push(text.slice(at, Math.max(at, c)));
    at = Math.max(at, c);
  }
  s.push(text.slice(at));
  s.end();
  return out;
}

describe('redactedTextStream', () => {
  it('never lets a secret through, however the text is cut, and passes the rest on in order', () => {
    const text = `the key is ${SECRET} and again ${SECRET}\nbye`;
    fc.assert(fc.property(fc.array(fc.integer({ min: 0, max: text.length }), { maxLength: 12 }), (cuts) => {
      const out = streamed(text, cuts);
      for (const piece of out) expect(piece).not.toMatch(/SECRET/);
      expect(out.join('')).toBe(redact(text));
    }));
  });

  it('holds a word back until it ends, and end() passes on the last one', () => {
    const out: string[] = [];
    const s = redactedTextStream(redact, (t) => out.push(t));
    s.push('hel');
    expect(out).toEqual([]);
    s.push('lo wor');
    expect(out).toEqual(['hello ']);
    s.end();
    expect(out).toEqual(['hello ', 'wor']);
  });
});
