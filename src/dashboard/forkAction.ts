import { z } from 'zod';
import type { AgentSystem } from '../system.js';
import { parseInput, storableText } from '../validation.js';

/** A whole number as a query string carries it; the range is `system.fork`'s to check. */
const wholeNumber = (what: string) => z.string({ error: `required: ${what}` }).regex(/^\d{1,15}$/, `expected ${what} (a whole number)`).transform(Number);

/**
 * The query of `POST /api/agents/:id/fork`, named as `system.fork`'s options so that a refusal
 * names the same field either way (`fork.atRevision`). `run=1` also starts the fork here.
 */
const ForkQuerySchema = z.strictObject({
  atRevision: wholeNumber('a revision of the source'),
  budget: wholeNumber('a token count').optional(),
  model: storableText(200).optional(),
  run: z.enum(['0', '1'], 'expected 1 (start the fork here) or 0').optional(),
});

/**
 * Forks `sourceId` from the dashboard (`POST /api/agents/:id/fork?atRevision=6&model=…&budget=…&run=1`)
 * and returns the fork's id. The route has passed the state-changing rule (stateChangeRefusal)
 * before this runs; the query is untrusted. With `run=1` the run is requested and this process
 * hosts the fork until it ends, without waiting for it (`cadre fork --run` waits); otherwise the
 * fork runs wherever free agents are picked up (a `cadre worker`, or `cadre serve` recovering).
 *
 * @example
 * const forkId = await forkFromDashboard(system, sourceId, new URLSearchParams('atRevision=6&model=claude-opus-4-1&run=1'));
 */
export async function forkFromDashboard(system: AgentSystem, sourceId: string, query: URLSearchParams): Promise<string> {
  // `?token=` is the dashboard's own (auth.ts), already checked; any other unknown name is refused.
  const q = parseInput(ForkQuerySchema, Object.fromEntries([...query].filter(([name]) => name !== 'token')), 'fork');
  const fork = await system.fork(sourceId, {
    atRevision: q.atRevision,
    ...(q.budget !== undefined ? { budget: q.budget } : {}),
    ...(q.model !== undefined ? { model: q.model } : {}),
  });
  if (q.run === '1') await fork.start();
  return fork.id;
}
