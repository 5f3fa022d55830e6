import { storableReply } from './storableReply.js';
import type { DomainEvent } from '../events/catalogue.js';
import type { AgentContext } from './agentContext.js';
import { liveChildren } from './agentContext.js';
import type { BudgetLedger } from './budget.js';
import { available, release } from './budget.js';
import type { ModelReply, ModelUsage } from './ports/modelProvider.js';
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

/** After a reply: settle the reservation, then either the tools it asked for or the end. */
export function afterReply(c: AgentContext, callId: string, raw: ModelReply, costUsd: number): DomainEvent[] {
  const reply = storableReply(raw);
  const events: DomainEvent[] = [
    {
      type: 'ModelReplied',
      data: { callId, model: reply.model, content: reply.content.map((b) => ({ ...b })), stopReason: reply.stopReason, usage: { ...reply.usage }, costUsd },
    },
    { type: 'BudgetSettled', data: { reservationId: callId, consumed: totalTokens(reply.usage), model: reply.model, costUsd } },
  ];
  const toolUses = reply.content.filter((b) => b.type === 'tool_use');
  if (toolUses.length > 0) {
    for (const t of toolUses) events.push({ type: 'ToolCalled', data: { toolUseId: t.id, name: t.name, input: t.input } });
    return events;
  }
  if (reply.stopReason === 'max_tokens') return events; // next turn continues
  const text = reply.content.filter((b) => b.type === 'text').map((b) => b.text).join('\n').trim();
  const settled: AgentContext = { ...c, budget: settleLedger(c.budget, callId, reply.usage) };
  if (liveChildren(settled).length > 0) return events;
  return [...events, ...completionEvents(settled, text)];
}

function settleLedger(b: BudgetLedger, callId: string, usage: ModelUsage): BudgetLedger {
  const held = b.reservations[callId] ?? 0;
  const { [callId]: _gone, ...rest } = b.reservations;
  return { ...b, reserved: b.reserved - held, consumed: b.consumed + totalTokens(usage), reservations: rest };
}

/** The largest output a call may ask for: what the budget leaves after the input estimate. */
export function affordableMaxTokens(c: AgentContext, inputEstimate: number, maxTokensPerCall: number): number {
  return Math.min(maxTokensPerCall, available(c.budget) - inputEstimate);
}

/** Below this many output tokens a call is not worth making: the budget is exhausted. */
export const MIN_OUTPUT_TOKENS = 16;
