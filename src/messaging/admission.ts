import { InboxFull, NotFound, RecipientUnavailable } from '../errors.js';
import type { MessagingContext } from './messagingContext.js';

/** Poll interval for room in a full inbox: acks in other processes send no notification. */
const CAPACITY_POLL_MS = 100;
/** A reservation whose MessageSent never got recorded (a crashed send) stops counting after this. */
const RESERVATION_TTL_MS = 30_000;

/** Refuses an agent that has ended: it takes no more messages. */
export function refuseEnded(agentId: string, status: string): void {
  if (status === 'completed' || status === 'failed' || status === 'terminated') {
    throw new RecipientUnavailable(agentId, `the agent has ${status === 'terminated' ? 'been terminated' : status}`);
  }
}

/** The recipient must exist and still be able to take messages. */
export async function checkRecipient(ctx: MessagingContext, to: string): Promise<void> {
  let status: string;
  try {
    status = (await ctx.runtime.state(to)).status;
  } catch (err) {
    if (err instanceof NotFound) throw new RecipientUnavailable(to, 'no agent has this id');
    throw err;
  }
  refuseEnded(to, status);
}

/**
 * Waits for room in the recipient's inbox and reserves a place for `messageId`, counting the
 * queue's rows and this process's admitted sends not yet among them. Throws `InboxFull` when no
 * room came within `timeoutMs`. The caller releases the reservation once the row counts.
 */
export async function admit(ctx: MessagingContext, to: string, messageId: string, timeoutMs: number): Promise<void> {
  const { gate, capacity, cfg } = ctx;
  const deadline = ctx.now() + timeoutMs;
  for (;;) {
    const seen = capacity.current;
    const depth = await gate.exclusive(to, async () => {
      const d = (await ctx.queue.depth(ctx.sql, to)) + gate.unprojected(to);
      if (d < cfg.inboxLimit) gate.reserve(to, messageId, RESERVATION_TTL_MS);
      return d;
    });
    if (depth < cfg.inboxLimit) return;
    const left = deadline - ctx.now();
    if (left <= 0 || ctx.lifecycle.stopped) throw new InboxFull(to, depth, cfg.inboxLimit);
    await capacity.wait(to, seen, Math.min(left, CAPACITY_POLL_MS));
  }
}
