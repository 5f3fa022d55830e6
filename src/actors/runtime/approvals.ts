import type { DomainEvent } from '../../events/catalogue.js';
import { InvalidInput, NotFound } from '../../errors.js';
import type { AgentContext } from '../agentContext.js';
import type { LiveActor } from '../liveActor.js';
import { execute } from './commandExecutor.js';
import { track, type RuntimeContext } from './runtimeContext.js';
import { toolResultEvents } from './toolResultEvents.js';

/** A person's answer to a parked call. `by`: who answered (a name, for the record). */
export type ApprovalAnswer = { readonly granted: true; readonly by: string | null } | { readonly granted: false; readonly reason: string; readonly by: string | null };

/**
 * Whether a call must wait for a person: its user tool says so (`needsApproval`, true or true for
 * this input), or it is a `run_command` of a program the system marks (`commandsNeedingApproval`).
 * An input its tool's schema refuses needs no approval: it fails validation when it runs.
 */
export function needsApproval(rt: RuntimeContext, c: AgentContext, name: string, input: unknown): boolean {
  if (name === 'run_command') {
    // A call that cannot run here (commands off, or no worktree: run_command was not even
    // offered) fails as it runs; asking a person to approve it would only waste their time.
    if (!rt.deps.config.allowCommands || !c.workspace) return false;
    const program = typeof input === 'object' && input !== null ? (input as { command?: unknown }).command : undefined;
    return typeof program === 'string' && (rt.deps.config.commandsNeedingApproval ?? []).includes(program);
  }
  // A tool the agent may not call fails as unknown when it runs: nothing to approve.
  const t = c.tools.includes(name) ? rt.deps.tools.get(name) : undefined;
  if (!t?.needsApproval) return false;
  if (t.needsApproval === true) return true;
  const parsed = t.input.safeParse(input);
  return parsed.success && t.needsApproval(parsed.data);
}

/** Parks a pending call until a person answers (ApprovalRequested), once. */
export async function requestApproval(rt: RuntimeContext, agentId: string, callId: string, tool: string, input: unknown): Promise<void> {
  const now = rt.deps.clock.now();
  const timeoutMs = rt.deps.tools.get(tool)?.approvalTimeoutMs ?? rt.deps.config.approvalTimeoutMs ?? null;
  const expiresAt = timeoutMs === null ? null : new Date(now.getTime() + timeoutMs).toISOString();
  await execute(rt, agentId, (s) => {
    if (!(callId in s.context.pendingTools) || callId in s.context.pendingApprovals) return [];
    return [{ type: 'ApprovalRequested', data: { callId, tool, input, requestedAt: now.toISOString(), expiresAt } }];
  }, { causationId: `tool:${callId}` });
}

/**
 * `awaitApproval`: every pending call waits for a person. The agent gives its concurrency slot
 * back (a wait of days must not keep other agents from running), and an answer that has an
 * expiry is given on its own then: denied, "approval timed out". Timers are re-armed wherever
 * the agent is hosted next (this effect is what its resting state says is due).
 */
export function awaitApproval(rt: RuntimeContext, actor: LiveActor): void {
  rt.slots.release(actor.id);
  for (const [callId, a] of Object.entries(actor.snapshot.context.pendingApprovals)) {
    if (a.granted || a.expiresAt === null || actor.inflight.approvalTimers.has(callId)) continue;
    const delay = Math.max(0, Date.parse(a.expiresAt) - rt.deps.clock.now().getTime());
    const timer = setTimeout(() => {
      actor.inflight.approvalTimers.delete(callId);
      track(rt, answerApproval(rt, actor.id, callId, { granted: false, reason: 'approval timed out', by: null }, { ifOpen: true }).catch(() => {}));
    }, Math.min(delay, 2 ** 31 - 1));
    timer.unref?.();
    actor.inflight.approvalTimers.set(callId, timer);
  }
}

/**
 * Records a person's answer to a parked call: granted, the call runs (where the agent is hosted);
 * denied, the call's result is the denial, which the model reads. Refused, naming `callId`, for
 * a call that is not waiting (unknown, or answered already) unless `ifOpen` (a timer's answer).
 */
export async function answerApproval(rt: RuntimeContext, agentId: string, callId: string, answer: ApprovalAnswer, options: { ifOpen?: boolean } = {}): Promise<void> {
  await execute(rt, agentId, (s) => {
    const asked = s.context.pendingApprovals[callId];
    if (s.context.result !== null) {
      if (options.ifOpen) return [];
      throw new InvalidInput('callId', `${callId} can no longer be answered: the agent has ended (${s.context.result.status})`);
    }
    if (!asked || asked.granted) {
      if (options.ifOpen) return [];
      if (!asked) throw new NotFound('approval', callId);
      throw new InvalidInput('callId', `${callId} was approved already`);
    }
    if (answer.granted) return [{ type: 'ApprovalGranted', data: { callId, by: answer.by } }];
    const denied: DomainEvent = { type: 'ApprovalDenied', data: { callId, reason: answer.reason, by: answer.by } };
    const said = `denied${answer.by ? ` by ${answer.by}` : ''}: ${answer.reason}`;
    return [denied, ...toolResultEvents(s, callId, asked.tool, { output: said, isError: true })];
  }, { causationId: answer.by ? `person:${answer.by}` : `approval:${callId}` });
}
