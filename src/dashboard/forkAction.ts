import { z } from 'zod';
import type { AgentSystem } from '../system.js';
import { parseInput, storableText } from '../validation.js';

/** A whole number as a query string carries it; the range is `system.fork`'s to check. */
const wholeNumber = (what: string) => z.string({ error: `required: ${what}` }).regex(/^\d{1,15}$/, `expected ${what} (a whole number)`).transform(Number);

/**
 * The query of `POST /api/agents/:id/fork`, named as `system.fork`'s options so that a refusal
 * names the same field either way (`fork.atRevision`).
 */
const ForkQuerySchema = z.strictObject({
  atRevision: wholeNumber('a revision of the source'),
  budget: wholeNumber('a token count').optional(),
  model: storableText(200).optional(),
});

/**
 * Forks `sourceId` from the dashboard (`POST /api/agents/:id/fork?atRevision=6&model=…&budget=…`)
 * and returns the fork's id and the revision it was really cut at (one inside a model reply's
 * decision moves to its end). The route has passed the state-changing rule (stateChangeRefusal)
 * before this runs; the query is untrusted. The fork opens started: this server, which hosts
 * what it starts, runs it (as a `cadre worker` beside it may).
 *
 * @example
 * const { id } = await forkFromDashboard(system, sourceId, new URLSearchParams('atRevision=6&model=claude-opus-4-1'));
 */
export async function forkFromDashboard(system: AgentSystem, sourceId: string, query: URLSearchParams): Promise<{ id: string; atRevision: number }> {
  const q = parseInput(ForkQuerySchema, Object.fromEntries(query), 'fork');
  const fork = await system.fork(sourceId, {
    atRevision: q.atRevision,
    ...(q.budget !== undefined ? { budget: q.budget } : {}),
    ...(q.model !== undefined ? { model: q.model } : {}),
  });
  const opening = (await system.history(fork.id))[0];
  return { id: fork.id, atRevision: opening?.type === 'AgentSpawned' ? opening.data.forkedFrom?.sourceRevision ?? q.atRevision : q.atRevision };
}
