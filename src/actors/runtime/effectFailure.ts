import { InvalidTransition } from '../../errors.js';
import { liveChildren } from '../agentContext.js';
import { failureEvents } from '../agentDecisions.js';
import { isTerminalStatus, statusOf } from '../agentMachine.js';
import { SlotWithdrawn } from '../slots.js';
import { execute } from './commandExecutor.js';
import { redact, track, type RuntimeContext } from './runtimeContext.js';

/** An effect that cannot proceed fails the agent rather than leaving it hanging forever. */
export function onEffectError(rt: RuntimeContext, id: string, err: unknown): void {
  if (rt.closed) return;
  // It gave its slot up while it waited for one (it now waits for children, or ended): that
  // effect is no longer due, and whatever becomes due starts with the actor's next change.
  if (err instanceof SlotWithdrawn) return;
  // Refused because this agent has ended, or timed out meanwhile (deadline.ts: a node spawn cut
  // at the workflow's deadline): nothing failed, and its ending is already under way.
  if (err instanceof InvalidTransition && err.agentId === id && err.hasEnded) {
    rt.deps.logger.debug({ agentId: id, err: err.message }, 'effect not run: the agent has ended');
    return;
  }
  rt.deps.logger.error({ agentId: id, err: err instanceof Error ? { message: err.message, name: err.name } : err }, 'effect failed');
  void execute(rt, id, (s) => {
    const st = statusOf(s.value);
    if (isTerminalStatus(st) || liveChildren(s.context).length > 0) return [];
    return failureEvents(s.context, 'error', redact(rt, err instanceof Error ? err.message : String(err)));
  }).catch(() => {});
}

/** Runs `effect` in the background; its failure fails the agent `id` (see onEffectError). */
export function runInBackground(rt: RuntimeContext, id: string, effect: Promise<unknown>): Promise<unknown> {
  return track(rt, effect.catch((err: unknown) => onEffectError(rt, id, err)));
}
