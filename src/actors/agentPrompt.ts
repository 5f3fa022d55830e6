import type { AgentContext } from './agentContext.js';
import type { ModelContentBlock, ModelMessage } from './ports/modelProvider.js';

/** The system prompt: who the agent is and how it works. */
export function systemPrompt(c: AgentContext): string {
  return [
    `You are a ${c.role} agent in cadre, a team of autonomous agents.`,
    `Your token budget is ${c.budget.allocated}; spend it carefully.`,
    c.workspace ? `You have a git worktree on branch ${c.workspace.branch}; file tools act inside it.` : 'You have no workspace.',
    c.outputSchema
      ? 'Use tools when they help. When done, call the finish tool with your result as `output`, a value that matches its schema.'
      : 'Use tools when they help. When done, call the finish tool with your result.',
    ...(c.instructions ? ['', c.instructions] : []),
  ].join('\n');
}

/** The first user message: the task, and what finished subordinates produced. */
export function taskMessage(c: AgentContext): string {
  const parts = [`Task: ${c.task || '(none given)'}`];
  const done = c.childOrder.map((id) => [id, c.children[id]!] as const).filter(([, ch]) => ch.status !== 'live' && ch.toolUseId === null);
  if (done.length > 0) {
    parts.push('Results from your subordinates:');
    for (const [id, ch] of done) parts.push(`- ${ch.role} (${id}, ${ch.status}): ${ch.output ?? '(no output)'}`);
  }
  return parts.join('\n');
}

/** The conversation so far, rebuilt from recorded replies and tool results only. */
export function conversation(c: AgentContext): ModelMessage[] {
  const messages: ModelMessage[] = [{ role: 'user', content: [{ type: 'text', text: taskMessage(c) }] }];
  for (const entry of c.transcript) {
    if (entry.kind === 'assistant') {
      messages.push({ role: 'assistant', content: entry.content as ModelContentBlock[] });
    } else {
      messages.push({
        role: 'user',
        content: entry.results.map((r) => ({ type: 'tool_result' as const, toolUseId: r.toolUseId, content: r.output, isError: r.isError })),
      });
    }
  }
  const last = messages[messages.length - 1]!;
  // A reply that ended without tools (e.g. max_tokens) needs a user turn before the next call.
  if (last.role === 'assistant') messages.push({ role: 'user', content: [{ type: 'text', text: c.outputSchema ? 'Continue, and end by calling the finish tool with your result as output.' : 'Continue.' }] });
  return messages;
}
