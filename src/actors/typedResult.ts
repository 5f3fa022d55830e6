import type { z } from 'zod';
import type { RunResult } from './runtime/waitForEnd.js';

/**
 * A run's result with its output as the caller's schema reads it. The agent's answer was checked
 * against the same schema (as JSON Schema) before it completed; parsing here gives the caller
 * the schema's own output (defaults, transforms) and its type. Failed and terminated runs keep
 * their text (a partial answer is not a structured one): their `output` is then null.
 */
export function typedResult<O>(r: RunResult, schema: z.ZodType<O> | null): RunResult<O> {
  if (!schema) return r as RunResult<O>;
  if (r.status !== 'completed' || r.output === null) return { ...r, output: null };
  return { ...r, output: schema.parse(JSON.parse(r.output)) };
}
