/**
 * `JSON.stringify` without recursion: V8's own overflows the stack on values nested a few
 * thousand levels (a 3,000-deep agent tree is 6,000: node, children, node…). Same output as
 * `JSON.stringify(value, replacer, indent)` for plain data, with bigints written as strings;
 * honours `toJSON` (Date), drops `undefined`, functions and symbols in objects and writes them as
 * `null` in arrays. Cycles throw a TypeError, as JSON.stringify's do. Indentation stops growing
 * after `maxIndentLevels` (still valid JSON): indenting every level makes a deep value's text
 * quadratic in its depth (a 3,000-deep tree would be hundreds of megabytes of spaces).
 *
 * @example
 * stringifyJson({ a: [1, 2n] }, 2) // '{\n  "a": [\n    1,\n    "2"\n  ]\n}'
 */
export function stringifyJson(value: unknown, indent = 0, maxIndentLevels = 64): string {
  const out: string[] = [];
  const pad = (level: number): string => (indent > 0 ? `\n${' '.repeat(indent * Math.min(level, maxIndentLevels))}` : '');
  const colon = indent > 0 ? ': ' : ':';
  interface Frame { readonly open: object; readonly items: [string | null, unknown][]; i: number; readonly level: number; readonly close: string }
  const onPath = new Set<object>();
  const stack: Frame[] = [];
  /** Writes a leaf, or pushes a frame for a container; false when the value is not JSON (undefined…). */
  const emit = (raw: unknown, key: string | null, level: number): boolean => {
    let v = raw;
    if (v !== null && typeof v === 'object' && typeof (v as { toJSON?: unknown }).toJSON === 'function') v = (v as { toJSON: (k: string) => unknown }).toJSON(key ?? '');
    if (typeof v === 'bigint') v = v.toString();
    if (v === undefined || typeof v === 'function' || typeof v === 'symbol') return false;
    if (v === null || typeof v !== 'object') {
      out.push(JSON.stringify(v));
      return true;
    }
    if (onPath.has(v)) throw new TypeError('Converting circular structure to JSON');
    onPath.add(v);
    const isArray = Array.isArray(v);
    const items: [string | null, unknown][] = isArray ? (v as unknown[]).map((x) => [null, x]) : Object.entries(v);
    out.push(isArray ? '[' : '{');
    stack.push({ open: v, items, i: 0, level: level + 1, close: isArray ? ']' : '}' });
    return true;
  };
  if (!emit(value, null, 0)) return undefined as unknown as string;
  while (stack.length > 0) {
    const f = stack[stack.length - 1]!;
    if (f.i >= f.items.length) {
      stack.pop();
      onPath.delete(f.open);
      out.push(`${f.items.length > 0 && out[out.length - 1] !== (f.close === ']' ? '[' : '{') ? pad(f.level - 1) : ''}${f.close}`);
      continue;
    }
    const [key, item] = f.items[f.i++]!;
    const sep = out[out.length - 1] === '[' || out[out.length - 1] === '{' ? '' : ',';
    const at = out.length;
    out.push(`${sep}${pad(f.level)}${key === null ? '' : `${JSON.stringify(key)}${colon}`}`);
    if (!emit(item, key ?? String(f.i - 1), f.level)) {
      if (key === null) out.push('null');
      else out.length = at; // an object drops the member entirely
    }
  }
  return out.join('');
}
