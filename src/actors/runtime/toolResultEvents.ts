import type { DomainEvent } from '../../events/catalogue.js';
import { liveChildren, type AgentContext } from '../agentContext.js';
import { completionEvents, rejectedOutputEnd } from '../agentDecisions.js';
import { isTerminalStatus, statusOf } from '../agentMachine.js';
import type { AgentSnapshot } from '../replay.js';

/**
 * A pending call's result, and the agent's end when it was the turn's last and the turn
 * finished it (a successful `finish`, or an output schema failed twice); nothing when the call
 * is no longer pending or the agent has ended.
 */
export function toolResultEvents(s: AgentSnapshot, toolUseId: string, name: string, result: { output: string; isError: boolean }): DomainEvent[] {
  const cur = s.context;
  if (!cur.pendingTools[toolUseId] || isTerminalStatus(statusOf(s.value))) return [];
  const events: DomainEvent[] = [{ type: 'ToolReturned', data: { toolUseId, name, output: result.output, isError: result.isError } }];
  const remaining = Object.keys(cur.pendingTools).filter((k) => k !== toolUseId);
  if (remaining.length === 0 && liveChildren(cur).length === 0) {
    const output = finishOutput(cur, { toolUseId, name, output: result.output, isError: result.isError });
    if (output !== null) events.push(...completionEvents(cur, output));
    else events.push(...rejectedOutputEnd(cur, [{ name, output: result.output, isError: result.isError }]));
  }
  return events;
}

/** The output of this turn's successful `finish` call, if the model made one. */
function finishOutput(c: AgentContext, last: { toolUseId: string; name: string; output: string; isError: boolean }): string | null {
  if (last.name === 'finish' && !last.isError) return last.output;
  const reply = c.transcript[c.transcript.length - 1];
  if (!reply || reply.kind !== 'assistant') return null;
  const finishIds = new Set(reply.content.filter((b) => b.type === 'tool_use' && b.name === 'finish').map((b) => (b as { id: string }).id));
  const done = c.turnResults.find((r) => finishIds.has(r.toolUseId) && !r.isError);
  return done ? done.output : null;
}
