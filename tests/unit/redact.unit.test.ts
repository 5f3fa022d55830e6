import { describe, expect, it } from 'vitest';
import { createRedactor, patternRedactor, urlPassword } from '../../src/infra/redact.js';

describe('redaction', () => {
  it('removes key-shaped strings, bearer tokens, header values and URL passwords by pattern', () => {
    const r = patternRedactor;
    expect(r.text('invalid x-api-key: sk-ant-api03-abcdefghijklmnop')).toBe('invalid x-api-key: [redacted]');
    expect(r.text('Authorization: Bearer abcdefgh12345678')).toBe('Authorization: Bearer [redacted]');
    expect(r.text('got Bearer abcdefgh12345678 back')).toBe('got Bearer [redacted] back');
    expect(r.text('fetch https://user:hunter2@proxy.example/v1/messages failed')).toBe('fetch https://user:***@proxy.example/v1/messages failed');
    expect(r.text('{"x-api-key":"plain-value-1234"}')).toBe('{"x-api-key":"[redacted]"}');
    expect(r.text('ssh://git@github.com/x and 12 tokens used')).toBe('ssh://git@github.com/x and 12 tokens used');
  });

  it('removes the configured secrets by value, raw, percent-encoded and JSON-escaped', () => {
    const secret = 'pa"ss/w0rd+';
    const r = createRedactor(['key-without-shape-123', secret, 'short', undefined, null]);
    expect(r.text('echo key-without-shape-123')).toBe('echo [redacted]');
    expect(r.text(JSON.stringify({ m: `was ${secret}` }))).toBe('{"m":"was [redacted]"}');
    expect(r.text(`postgres://u@h/db?password=${encodeURIComponent(secret)}`)).toBe('postgres://u@h/db?password=[redacted]');
    expect(r.text('short stays')).toBe('short stays'); // too short to match by value
    r.addSecret('dashboard-token-added-later');
    expect(r.text('dashboard-token-added-later')).toBe('[redacted]');
    expect(urlPassword('postgres://u:p%40ss@h/db')).toEqual(['p%40ss', 'p@ss']);
    expect(urlPassword('not a url')).toEqual([]);
  });

  it('redacts values at any depth, secret keys, errors and their causes, without recursion', () => {
    const r = createRedactor(['the-configured-key']);
    const cause = new Error('upstream said the-configured-key');
    const err = Object.assign(new Error('failed: the-configured-key', { cause }), { status: 401 });
    const out = r.value({ err, apiKey: 'x', nested: [{ password: 'p' }], n: 1n }) as Record<string, unknown>;
    expect(JSON.stringify(out)).not.toContain('the-configured-key');
    expect(out).toMatchObject({ apiKey: '[redacted]', nested: [{ password: '[redacted]' }], n: '1', err: { type: 'Error', message: 'failed: [redacted]', status: 401, cause: { message: 'upstream said [redacted]' } } });
    let deep: unknown = 'the-configured-key';
    for (let i = 0; i < 20_000; i++) deep = { d: [deep] };
    let back = r.value(deep);
    for (let i = 0; i < 20_000; i++) back = (back as { d: unknown[] }).d[0];
    expect(back).toBe('[redacted]');
  });

  it('keeps dates as JSON would write them (a dead letter\'s sentAt was {})', () => {
    const r = createRedactor([]);
    const sentAt = new Date('2026-12-03T10:00:00.000Z');
    expect(r.value({ sentAt, rows: [{ at: sentAt }] })).toEqual({ sentAt: '2026-12-03T10:00:00.000Z', rows: [{ at: '2026-12-03T10:00:00.000Z' }] });
    expect(r.value(sentAt)).toBe('2026-12-03T10:00:00.000Z');
    expect(r.value({ bad: new Date(NaN) })).toEqual({ bad: 'Invalid Date' });
  });

  it('takes time in proportion to the text: 300 KB of one letter is not a quadratic scan', () => {
    // Quadratic (the URL scheme unbounded), 300 KB of one letter took ~13 s; linear, ~30 ms.
    const r = createRedactor(['sk-ant-SECRETKEY123']);
    const t0 = performance.now();
    for (const text of ['Z'.repeat(300_000), 'a-'.repeat(150_000), 'a://'.repeat(75_000)]) expect(r.text(text)).toBe(text);
    expect(performance.now() - t0).toBeLessThan(3_000);
    // A scheme longer than the bound still has its URL's password removed.
    expect(r.text(`${'q'.repeat(40)}://u:hunter22@h`)).toBe(`${'q'.repeat(40)}://u:***@h`);
  });
});
