import { parseInput, storableText } from '../validation.js';

/** Why an operator or a parent ends an agent: stored in `AgentTerminated`, so checked like any text. */
export const parseTerminationReason = (reason: unknown): string => parseInput(storableText(2_000), reason, 'reason');
