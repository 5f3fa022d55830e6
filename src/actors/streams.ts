/** One stream per actor (a workflow is an agent too). */
export const agentStream = (agentId: string): string => `agent-${agentId}`;
export const AGENT_STREAM_PREFIX = 'agent-';
export const agentIdOfStream = (streamId: string): string | null =>
  streamId.startsWith(AGENT_STREAM_PREFIX) ? streamId.slice(AGENT_STREAM_PREFIX.length) : null;
