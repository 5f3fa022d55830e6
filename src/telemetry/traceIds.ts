import { createHash } from 'node:crypto';

const hex = (text: string, digits: number): string => createHash('sha256').update(text).digest('hex').slice(0, digits);

/** A run's trace id: from its root agent's id, so every process derives the same one. */
export const traceIdOf = (rootId: string): string => hex(`trace:${rootId}`, 32);

/** A span's id: from the agent and the event that opened it (AgentSpawned, ModelRequested, ToolCalled). */
export const spanIdOf = (agentId: string, what: string): string => hex(`span:${agentId}:${what}`, 16);
