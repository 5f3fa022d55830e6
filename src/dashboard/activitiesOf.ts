import type { AgentSystem } from '../system.js';
import { activityOf } from '../actors/agentContext.js';
import { hostedNow } from './hostedNow.js';

/**
 * What each of `ids` (agents that have not ended) is doing, in the live views' words, and
 * whether any process is doing it: an agent whose context says `calling model` but whose lease
 * nobody holds (its process was stopped or died) is not calling anything. Such an agent reads
 * `not hosted (was calling model)` until a worker, `cadre serve` or `cadre start --wait` takes it.
 *
 * @example
 * const doing = await activitiesOf(system, ['019f…']); // Map { '019f…' => 'waiting for 2 children' }
 */
export async function activitiesOf(system: Pick<AgentSystem, 'internal'>, ids: readonly string[]): Promise<Map<string, string | null>> {
  if (ids.length === 0) return new Map();
  const runtime = system.internal.runtime;
  const [contexts, hosted] = await Promise.all([Promise.all(ids.map((id) => runtime.context(id))), hostedNow(system, ids)]);
  return new Map(ids.map((id, i) => {
    const activity = activityOf(contexts[i]!);
    // A terminating agent is being ended by whoever fired it, hosted or not; a parked call waits
    // for a person's answer, which needs no host.
    return [id, activity === null || activity === 'terminating' || activity.startsWith('waiting for approval') || hosted.has(id) ? activity : `not hosted (was ${activity})`];
  }));
}
