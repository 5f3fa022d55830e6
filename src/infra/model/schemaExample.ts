/**
 * The simplest value a JSON Schema accepts, for the offline model to fill a user tool's input or
 * a structured answer with: the required properties of an object, a number's lower bound, `text`
 * for a string (cut or padded to its length bounds), an enum's or const's first value, an array
 * of its fewest items, the first branch of anyOf/oneOf. Deterministic; not a full JSON Schema
 * implementation (a `pattern` or `format` is not honoured: the agent's validation then says so).
 *
 * @example
 * schemaExample({ type: 'object', properties: { n: { type: 'integer', minimum: 3 } }, required: ['n'] }, 'x'); // { n: 3 }
 */
export function schemaExample(schema: unknown, text: string, depth = 0): unknown {
  if (typeof schema !== 'object' || schema === null || depth > 20) return text;
  const s = schema as Record<string, unknown>;
  if ('const' in s) return s.const;
  if (Array.isArray(s.enum) && s.enum.length > 0) return s.enum[0];
  const branch = (Array.isArray(s.anyOf) && s.anyOf[0]) || (Array.isArray(s.oneOf) && s.oneOf[0]) || (Array.isArray(s.allOf) && s.allOf[0]);
  if (branch) return schemaExample(branch, text, depth + 1);
  const type = Array.isArray(s.type) ? s.type[0] : s.type;
  switch (type) {
    case 'object': {
      const props = (s.properties ?? {}) as Record<string, unknown>;
      const required = Array.isArray(s.required) ? (s.required as string[]) : [];
      return Object.fromEntries(required.map((k) => [k, schemaExample(props[k], text, depth + 1)]));
    }
    case 'array':
      return Array.from({ length: typeof s.minItems === 'number' ? s.minItems : 0 }, () => schemaExample(s.items, text, depth + 1));
    case 'integer':
    case 'number': {
      const low = typeof s.minimum === 'number' ? s.minimum : typeof s.exclusiveMinimum === 'number' ? s.exclusiveMinimum + (type === 'integer' ? 1 : 0.5) : 0;
      const high = typeof s.maximum === 'number' ? s.maximum : Number.POSITIVE_INFINITY;
      const n = Math.min(low, high);
      return type === 'integer' ? Math.ceil(n) : n;
    }
    case 'boolean':
      return true;
    case 'null':
      return null;
    case 'string': {
      const min = typeof s.minLength === 'number' ? s.minLength : 0;
      const max = typeof s.maxLength === 'number' ? s.maxLength : Number.POSITIVE_INFINITY;
      return text.padEnd(min, '.').slice(0, max);
    }
    default:
      return text;
  }
}
