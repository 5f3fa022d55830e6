import type { AgentSystem } from '../system.js';
import { isDeadLocalOwner } from '../infra/ids.js';

/**
 * Which of `ids` a live process hosts now: one whose lease nobody holds is not running, whatever
 * its status says, and a lease of a process of this machine that is gone holds nothing (it read
 * as hosted for up to the lease's 5 s after a kill -9). The live views and `report` say it alike.
 *
 * @example
 * const hosted = await hostedNow(system, ['019f…']); // Set { '019f…' } while a worker runs it
 */
export async function hostedNow(system: Pick<AgentSystem, 'internal'>, ids: readonly string[]): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  const holders = await system.internal.runtime.leaseHolders(ids);
  return new Set([...holders].filter(([, owner]) => !isDeadLocalOwner(owner)).map(([id]) => id));
}
