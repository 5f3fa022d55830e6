import { z } from 'zod';

/**
 * Validators of output schemas, by their JSON text. The schema travels in AgentSpawned as JSON
 * Schema, so any process hosting the agent can check its answer without the caller's zod object.
 */
const validators = new Map<string, z.ZodType>();

function validatorOf(schema: Readonly<Record<string, unknown>>): z.ZodType {
  const key = JSON.stringify(schema);
  let v = validators.get(key);
  if (!v) {
    v = z.fromJSONSchema(schema as Parameters<typeof z.fromJSONSchema>[0]);
    if (validators.size > 1000) validators.clear(); // bounded: schemas come from spawn calls
    validators.set(key, v);
  }
  return v;
}

/**
 * A structured answer checked against its schema: the value as the JSON text AgentCompleted
 * stores, or what is wrong with it, worded for the model to fix on its next try.
 *
 * @example
 * checkStructuredOutput({ type: 'object', properties: { n: { type: 'integer' } }, required: ['n'] }, { n: 'x' });
 * // { ok: false, problems: 'output.n: Invalid input: expected int, received string' }
 */
export function checkStructuredOutput(schema: Readonly<Record<string, unknown>>, value: unknown): { ok: true; text: string } | { ok: false; problems: string } {
  const parsed = validatorOf(schema).safeParse(value);
  if (parsed.success) return { ok: true, text: JSON.stringify(parsed.data) };
  return { ok: false, problems: parsed.error.issues.map((i) => `${['output', ...i.path.map(String)].join('.')}: ${i.message}`).join('; ') };
}
