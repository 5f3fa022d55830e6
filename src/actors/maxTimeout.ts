/**
 * The longest deadline an agent may have: a week, in ms. One bound for a spawn's `timeoutMs`, the
 * `defaultAgentTimeoutMs` option and DEFAULT_AGENT_TIMEOUT: an unbounded default was taken as is,
 * and `99999999999999999999` wrote an AgentSpawned no reader could parse back (the event's schema
 * caps it), which broke `cadre tree` on that store for good (a new user's try).
 */
export const MAX_TIMEOUT_MS = 7 * 24 * 3_600_000;
