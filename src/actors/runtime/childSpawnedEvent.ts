import type { EventOf } from '../../events/catalogue.js';
import type { AgentContext } from '../agentContext.js';
import { checkDelegate } from '../budget.js';
import type { ParsedSpawnConfig } from '../spawnConfig.js';
import { childSpawned, resolveSpec, type SpawnExtra } from '../spawnSpec.js';
import type { RuntimeContext } from './runtimeContext.js';

/**
 * A running parent's record of a new child, decided on its context: refused (thrown) when it
 * cannot hand the budget down. The one rule for `spawnChild` and for the spawns that ride with
 * another decision's commit (spawnsAlong.ts).
 */
export function childSpawnedEvent(rt: RuntimeContext, parent: AgentContext, childId: string, c: ParsedSpawnConfig, extra: SpawnExtra, toolUseId?: string): EventOf<'ChildSpawned'> {
  const refusal = checkDelegate(parent.id, parent.budget, c.budget);
  if (refusal) throw refusal;
  return { type: 'ChildSpawned', data: childSpawned(childId, resolveSpec(c, parent, rt.deps.config, extra), toolUseId, extra.nodeAttempt ?? null) };
}
