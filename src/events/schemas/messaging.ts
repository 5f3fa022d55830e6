import { z } from 'zod';
import { AgentId } from './common.js';

export const MessageSent = z.object({
  messageId: z.string(),
  to: AgentId,
  payload: z.unknown(),
  priority: z.number().int().min(0).max(9),
  dedupeKey: z.string().nullable(),
});
export const MessageReceived = z.object({ messageId: z.string(), from: AgentId, attempt: z.number().int().positive() });
export const MessageAcked = z.object({ messageId: z.string() });
