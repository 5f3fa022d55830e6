import { storableReply } from './storableReply.js';
import type { DomainEvent, EventData } from '../events/catalogue.js';
import type { AgentContext } from './agentContext.js';
import { liveChildren } from './agentContext.js';
import type { BudgetLedger } from './budget.js';
import { available, overspent, release, settle } from './budget.js';
import type { ModelReply } from './ports/modelProvider.js';
import { totalTokens } from './ports/modelProvider.js';

/**
 * Pure deciders: from an agent's context and an outcome, the events to record. The runtime
 * does the I/O around them; these hold the rules.
 */

/** Releases every open reservation (an agent cannot end while holding one). */
export function releaseAll(c: AgentContext, reason: string): { events: DomainEvent[]; ledger: BudgetLedger } {
  let ledger = c.budget;
  const events: DomainEvent[] = [];
  for (const id of Object.keys(c.budget.reservations)) {
    events.push({ type: 'BudgetReleased', data: { reservationId: id, reason } });
    ledger = release(ledger, id);
  }
  return { events, ledger };
}

export function terminationEvents(c: AgentContext, reason: string, by: string | null): DomainEvent[] {
  const { events, ledger } = releaseAll(c, 'terminated');
  return [...events, { type: 'AgentTerminated', data: { reason, by, returned: available(ledger) } }];
}

export function failureEvents(c: AgentContext, cause: string, reason: string): DomainEvent[] {
  const { events, ledger } = releaseAll(c, cause);
  return [...events, { type: 'AgentFailed', data: { reason, cause, partialOutput: c.lastText, returned: available(ledger) } }];
}

export function completionEvents(c: AgentContext, output: string): DomainEvent[] {
  const { events, ledger } = releaseAll(c, 'completed');
  return [...events, { type: 'AgentCompleted', data: { output, returned: available(ledger) } }];
}

/**
 * After a reply: the reply, which settles the reservation with the real usage (always: usage
 * is never lost), then either the tools it asked for or the end. A reply that used more than its reservation
 * held is an overspend: the excess is recorded on its own (BudgetOverspent) and the agent ends
 * failed with cause `budget_exceeded`, its tool calls not run (the cap is hard).
 */
export function afterReply(c: AgentContext, callId: string, raw: ModelReply, costUsd: number, pureTool?: PureTool): DomainEvent[] {
  const reply = storableReply(raw);
  const consumed = totalTokens(reply.usage);
  const events: DomainEvent[] = [
    {
      type: 'ModelReplied',
      data: { callId, model: reply.model, content: reply.content.map((b) => ({ ...b })), stopReason: reply.stopReason, usage: { ...reply.usage }, costUsd, settles: true },
    },
  ];
  const held = c.budget.reservations[callId] ?? 0;
  const settled: AgentContext = { ...c, pendingCall: null, budget: settle(c.budget, callId, consumed) };
  if (consumed > held) {
    events.push({ type: 'BudgetOverspent', data: { reservationId: callId, reserved: held, consumed, excess: consumed - held } });
    return [...events, ...failureEvents(settled, 'budget_exceeded', overReservation(consumed, held, 'the agent'))];
  }
  const toolUses = reply.content.filter((b) => b.type === 'tool_use');
  const finished = onlyFinish(settled, toolUses, pureTool);
  if (finished !== null) return [...events, ...completionEvents(settled, finished)];
  if (toolUses.length > 0) {
    for (const t of toolUses) events.push({ type: 'ToolCalled', data: { toolUseId: t.id, name: t.name, input: t.input } });
    return [...events, ...pureToolEnd(settled, toolUses, pureTool)];
  }
  if (reply.stopReason === 'max_tokens') return events; // next turn continues
  const text = reply.content.filter((b) => b.type === 'text').map((b) => b.text).join('\n').trim();
  // A refusal is not an answer: it ended `completed` with the refusal as its output (a new-user try).
  if (reply.stopReason === 'refusal') return [...events, ...failureEvents(settled, 'model_error', `the model refused to answer${text ? `: ${text}` : ''}`)];
  if (liveChildren(settled).length > 0) return events;
  // A structured answer comes only through `finish`: the next turn asks for it (agentPrompt).
  if (settled.outputSchema) return events;
  return [...events, ...completionEvents(settled, text)];
}

/**
 * A call the provider answered with a reply that could not be used (usage that is not a count, a
 * malformed message): the provider bills it, and what it used is unknown, so the call is charged
 * its whole reservation, the most it could have cost (`worst`: the request's input bound and
 * max_tokens), and the agent fails. Releasing it instead gave an endpoint that answers with a
 * broken usage a free call per agent (found by a hostile-model try).
 */
export function afterUnusableReply(c: AgentContext, callId: string, error: string, worst: { model: string; costUsd: number }): DomainEvent[] {
  const held = c.budget.reservations[callId] ?? 0;
  const settled: AgentContext = { ...c, pendingCall: null, budget: settle(c.budget, callId, held) };
  return [
    { type: 'ModelFailed', data: { callId, error, retryable: false } },
    { type: 'BudgetSettled', data: { reservationId: callId, consumed: held, model: worst.model, costUsd: worst.costUsd } },
    ...failureEvents(settled, 'model_error', `model call failed: ${error}; charged its reservation of ${held} tokens, since the provider answered`),
  ];
}

/**
 * The output of a reply whose one tool call is a `finish` that succeeds, with no child still
 * live: the call and its result are the completion, so only `AgentCompleted` is recorded after the
 * reply (the reply holds the call, the completion its output). A ToolCalled and ToolReturned
 * beside it repeated the output twice more and cost two of the ~16 events of an agent step
 * (issue 19). Null for anything else, which is recorded call by call as before.
 */
function onlyFinish(c: AgentContext, toolUses: ReadonlyArray<{ id: string; name: string; input: unknown }>, pureTool: PureTool | undefined): string | null {
  if (!pureTool || toolUses.length !== 1 || toolUses[0]!.name !== 'finish' || liveChildren(c).length > 0) return null;
  const r = pureTool('finish', toolUses[0]!.input);
  return r && !r.isError ? r.output : null;
}

/** A pure tool's result from its input alone (toolRunner's `pureToolResult`), or null for any other tool. */
export type PureTool = (name: string, input: unknown) => { output: string; isError: boolean } | null;

/**
 * A reply whose every tool is pure (only `finish`): their results, and the end if a `finish`
 * succeeded, go in the reply's own append (one commit, not two). Nothing when any tool needs
 * running (it is recorded as called first) or children are still live (their ends come first).
 */
function pureToolEnd(c: AgentContext, toolUses: ReadonlyArray<{ id: string; name: string; input: unknown }>, pureTool: PureTool | undefined): DomainEvent[] {
  if (!pureTool || liveChildren(c).length > 0) return [];
  const results = toolUses.map((t) => ({ t, r: pureTool(t.name, t.input) }));
  if (results.some((x) => x.r === null)) return [];
  const events: DomainEvent[] = results.map(({ t, r }) => ({ type: 'ToolReturned', data: { toolUseId: t.id, name: t.name, output: r!.output, isError: r!.isError } }));
  // As the runtime decides it after running them one by one: the last result if it is a
  // successful finish, else the first successful finish.
  const last = results[results.length - 1]!;
  const done = last.t.name === 'finish' && !last.r!.isError ? last : results.find((x) => x.t.name === 'finish' && !x.r!.isError);
  if (done) return [...events, ...completionEvents(c, done.r!.output)];
  return [...events, ...rejectedOutputEnd(c, results.map(({ t, r }) => ({ name: t.name, isError: r!.isError, output: r!.output })))];
}

/**
 * An agent with an output schema whose `finish` failed it a second time ends failed (cause
 * `invalid_output`, the problems as its reason): the first failure went back to the model with
 * what was wrong. `c` is the state before `results` were recorded, at the end of a turn.
 */
export function rejectedOutputEnd(c: AgentContext, results: ReadonlyArray<{ name: string; isError: boolean; output: string }>): DomainEvent[] {
  if (!c.outputSchema) return [];
  const rejected = results.filter((r) => r.name === 'finish' && r.isError);
  // The count includes this turn's earlier results (recorded one by one when tools run).
  if (c.outputRejections + rejected.length < 2) return [];
  const last = rejected[rejected.length - 1]?.output ?? 'see its last finish call';
  return failureEvents(c, 'invalid_output', `its answer did not match the output schema twice: ${last}`);
}

/**
 * The parent's record of what a child that ended gave back and spent (ChildFinished's
 * `reclaim`). `overspent` is what the child's subtree spent past its allocation (0 unless a
 * provider overspent below): the parent is charged for it too, so every ledger up the chain adds up.
 */
export function reclaimOf(allocated: number, child: BudgetLedger): NonNullable<EventData<'ChildFinished'>['reclaim']> {
  const returned = Math.min(allocated, available(child));
  const over = overspent(child);
  return { allocated, returned, spent: allocated - returned + over, overspent: over };
}

/** The largest output a call may ask for: what the budget leaves after the input estimate. */
export function affordableMaxTokens(c: AgentContext, inputEstimate: number, maxTokensPerCall: number): number {
  return Math.min(maxTokensPerCall, available(c.budget) - inputEstimate);
}

/** Below this many output tokens a call is not worth making: the budget is exhausted. */
export const MIN_OUTPUT_TOKENS = 16;

/** Why `who` stopped on a reply whose usage is past what its call could use: the same words for an agent's turn and a workflow's planning call. */
export const overReservation = (consumed: number, held: number, who: string): string =>
  `usage over the reservation: the model reported ${consumed} tokens for a call that reserved ${held}, the most a call can use (its input estimate plus max_tokens); usage past that is not trusted, so ${who} stops, charged in full`;
