import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { decodeWire, encodeWire } from '../../src/infra/sql/wireCodec.js';

describe('wire codec (rows between the store holder and its readers)', () => {
  it('keeps bigint, Date and bytes as themselves, nested in rows and JSON values', () => {
    const row = { revision: 9_007_199_254_740_993n, at: new Date('2026-12-03T08:00:00.123Z'), blob: new Uint8Array([0, 1, 255]), buf: Buffer.from('hi'), data: { list: [1n, null, 'x'] } };
    const back = decodeWire(encodeWire(row)) as typeof row;
    expect(back.revision).toBe(9_007_199_254_740_993n);
    expect(back.at).toBeInstanceOf(Date);
    expect(back.at.toISOString()).toBe('2026-12-03T08:00:00.123Z');
    expect(back.blob).toEqual(new Uint8Array([0, 1, 255]));
    expect(Buffer.from(back.buf as Uint8Array).toString()).toBe('hi');
    expect(back.data.list).toEqual([1n, null, 'x']);
  });

  it('a row of the data\'s own that looks like a tag comes back as it was', () => {
    const payload = { $cadre: 'bigint', v: '1', inner: { $cadre: 'date', v: 0 } };
    expect(decodeWire(encodeWire({ payload }))).toEqual({ payload });
  });

  it('any JSON value round-trips unchanged', () => {
    fc.assert(fc.property(fc.jsonValue(), (v) => {
      expect(decodeWire(encodeWire(v))).toEqual(JSON.parse(JSON.stringify(v)));
    }));
  });
});
