import type { AgentSystem } from '../system.js';
import { InvalidInput } from '../errors.js';
import { isStorableText } from '../validation.js';

/** What a denial says when the person gives no reason. */
const DEFAULT_REASON = 'denied from the dashboard';

/**
 * A person's answer from the dashboard (`POST /api/agents/:id/approvals/:call/approve|deny`,
 * `?reason=` for a denial), recorded as `by: 'dashboard'`. The route has passed the
 * state-changing rule (stateChangeRefusal) before this runs; the reason is untrusted text.
 */
export async function answerFromDashboard(system: AgentSystem, agentId: string, callId: string, verb: string, reason: string | null): Promise<void> {
  if (!/^[A-Za-z0-9_-]{1,200}$/.test(callId)) throw new InvalidInput('callId', 'must be a tool call id (toolu_…)');
  const agent = system.get(agentId);
  if (verb === 'approve') return agent.approve(callId, { by: 'dashboard' });
  if (verb !== 'deny') throw new InvalidInput('action', `expected approve or deny, got ${JSON.stringify(verb.slice(0, 40))}`);
  const why = reason === null || reason.trim() === '' ? DEFAULT_REASON : reason.trim();
  if (why.length > 2000 || !isStorableText(why)) throw new InvalidInput('reason', 'must be at most 2,000 characters of text');
  return agent.deny(callId, why, { by: 'dashboard' });
}
