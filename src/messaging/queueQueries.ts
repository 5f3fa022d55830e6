import { InvalidInput } from '../errors.js';
import { parseInput } from '../validation.js';
import type { MessagingContext } from './messagingContext.js';
import type { PeekOptions } from './messagingOptions.js';
import { PeekOptionsSchema, RecipientSchema } from './payload.js';
import type { DeadLetter, PeekedMessage } from './queueSql.js';

/** What the operator asks of the queue (`cadre inbox`, the dashboard's dead letters): records nothing. */
export interface QueueQueries {
  peek(recipient: string, options?: PeekOptions): Promise<PeekedMessage[]>;
  deadLetters(query?: { recipient?: string; limit?: number }): Promise<DeadLetter[]>;
  queueDepth(agentId: string): Promise<number>;
  /**
   * Dead-letters what has run out of deliveries (for one recipient, or all: null) and wakes the
   * senders waiting for the room this frees.
   */
  sweep(recipient: string | null): Promise<void>;
}

/**
 * Reads over the queue tables. They work in a read-only system too: no event, no delivery
 * attempt, no visibility change (a sweep changes only what a receive would have changed anyway).
 *
 * @example
 * const queries = createQueueQueries(ctx);
 * const dead = await queries.deadLetters({ limit: 20 });
 */
export function createQueueQueries(ctx: MessagingContext): QueueQueries {
  const { sql, queue } = ctx;

  async function sweep(recipient: string | null): Promise<void> {
    for (const r of await queue.sweep(sql, ctx.cfg.maxAttempts, recipient)) ctx.capacity.fire(r);
  }

  return {
    sweep,
    async peek(recipientRaw, options = {}) {
      const recipient = parseInput(RecipientSchema, recipientRaw, 'recipient');
      const { limit } = parseInput(PeekOptionsSchema, options, 'options');
      return queue.peek(sql, recipient, limit ?? 10);
    },
    async deadLetters(query = {}) {
      const recipient = query.recipient === undefined ? null : parseInput(RecipientSchema, query.recipient, 'recipient');
      const limit = query.limit ?? 1000;
      if (!Number.isInteger(limit) || limit < 1) throw new InvalidInput('limit', 'must be a positive integer');
      await sweep(recipient);
      return queue.deadLetters(sql, recipient, limit);
    },
    async queueDepth(agentId) {
      return queue.depth(sql, parseInput(RecipientSchema, agentId, 'agentId'));
    },
  };
}
