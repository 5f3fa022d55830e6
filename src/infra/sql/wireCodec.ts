/**
 * JSON for SQL parameters and rows sent between processes (the embedded store's holder and its
 * readers). Plain JSON would turn a BIGINT (`bigint`) into an error, a `Date` into a string and
 * a `Buffer` into `{type, data}`; these come back as the same types instead. A tag is an object
 * `{"$cadre": kind, "v": …}`; an object of the data's own that has a `$cadre` key is escaped as
 * its entries, so no row can be mistaken for a tag.
 *
 * @example
 * decodeWire(encodeWire({ n: 1n, at: new Date(0) })) // → { n: 1n, at: Date(0) }
 */
const TAG = '$cadre';

export function encodeWire(value: unknown): string {
  return JSON.stringify(value, function (this: Record<string, unknown>, key: string) {
    // `this[key]` is the value before toJSON (Date and Buffer define one).
    const raw = this[key];
    if (typeof raw === 'bigint') return { [TAG]: 'bigint', v: raw.toString() };
    if (raw instanceof Date) return { [TAG]: 'date', v: raw.getTime() };
    if (raw instanceof Uint8Array) return { [TAG]: 'bytes', v: Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('base64') };
    if (raw !== null && typeof raw === 'object' && !Array.isArray(raw) && Object.hasOwn(raw, TAG)) return { [TAG]: 'object', v: Object.entries(raw) };
    return raw;
  });
}

export function decodeWire(text: string): unknown {
  return JSON.parse(text, (_key, value: unknown) => {
    if (value === null || typeof value !== 'object' || Array.isArray(value) || !Object.hasOwn(value, TAG)) return value;
    const { [TAG]: kind, v } = value as { [TAG]: unknown; v: unknown };
    switch (kind) {
      case 'bigint': return BigInt(v as string);
      case 'date': return new Date(v as number);
      case 'bytes': return new Uint8Array(Buffer.from(v as string, 'base64'));
      case 'object': return Object.fromEntries(v as [string, unknown][]);
      default: throw new Error(`unknown wire tag ${JSON.stringify(kind)}`);
    }
  });
}
