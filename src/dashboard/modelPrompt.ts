import type { AgentSystem } from '../system.js';
import { NotFound } from '../errors.js';
import { createBlobStore } from '../infra/postgres/runtimeTables.js';

/**
 * The request one model call sent (system prompt, messages, tools), read from the blob table on
 * demand: events carry only its reference, and a prompt can be large. Only a reference that the
 * agent's own `ModelRequested` names is read, so the route reads no other blob.
 *
 * @example
 * const { request } = await modelPrompt(system, agentId, callId);
 * console.log((request as { system: string }).system);
 */
export async function modelPrompt(system: Pick<AgentSystem, 'internal' | 'schema' | 'history'>, agentId: string, callId: string): Promise<{ callId: string; requestRef: string; request: unknown }> {
  const asked = (await system.history(agentId)).find((e) => e.type === 'ModelRequested' && e.data.callId === callId);
  if (!asked || asked.type !== 'ModelRequested') throw new NotFound(`model call of agent ${agentId}`, callId);
  const request = await createBlobStore(system.internal.sql, system.schema).get(asked.data.requestRef);
  return { callId, requestRef: asked.data.requestRef, request: request ?? null };
}
