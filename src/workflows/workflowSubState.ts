import type { AgentSnapshot } from '../actors/replay.js';

/**
 * A workflow agent's place inside `running` (`active`, `awaitingChildren`, ...); null before its
 * start and after its end.
 *
 * @example
 * if (workflowSubState(snapshot) === 'active') console.log('deciding its next step');
 */
export function workflowSubState(s: AgentSnapshot): string | null {
  return typeof s.value === 'object' && s.value !== null && 'running' in s.value ? String((s.value as { running: string }).running) : null;
}
