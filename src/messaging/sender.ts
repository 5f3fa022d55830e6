import { InvalidInput, InvalidTransition, RecipientUnavailable } from '../errors.js';
import { isTerminalStatus, statusOf } from '../actors/agentMachine.js';
import { parseInput } from '../validation.js';
import { admit, checkRecipient } from './admission.js';
import type { MaterialisationWaiters } from './materialisation.js';
import type { MessagingContext } from './messagingContext.js';
import type { SendOptions } from './messagingOptions.js';
import type { OutboxWakeups } from './outboxWakeups.js';
import { RecipientSchema, SendOptionsSchema, checkPayload } from './payload.js';
import { DEFAULT_PRIORITY } from './priority.js';

export type Send = (from: string, to: string, payload: unknown, options?: SendOptions) => Promise<{ messageId: string }>;

export interface SenderParts {
  readonly ctx: MessagingContext;
  readonly ids: { uuid(): string; derive(namespace: string, name: string): string };
  readonly waiters: MaterialisationWaiters;
  readonly wakeups: OutboxWakeups;
  /** Whether the outbox trigger writes each row with its MessageSent (else the projection does). */
  outboxOn(): boolean;
}

/**
 * The one way a message is sent, by a handle, the operator or an agent's `send_message` tool:
 * admit it to the recipient's inbox (one reserved place), record `MessageSent` in the sender's
 * stream, wake the receiver, and let the reservation go once the row counts.
 *
 * @example
 * const send = createSend({ ctx, ids, waiters, wakeups, outboxOn: () => true });
 * const { messageId } = await send(leadId, devId, { task: 'review PR 12' }, { priority: 7 });
 */
export function createSend(parts: SenderParts): Send {
  const { ctx, ids, waiters, wakeups } = parts;
  /** The same dedupe key sent twice at once from this process: one send, both get its id. */
  const sending = new Map<string, { readonly to: unknown; readonly promise: Promise<{ messageId: string }> }>();

  async function sendOnce(from: string, toRaw: unknown, payload: unknown, options: SendOptions): Promise<{ messageId: string }> {
    ctx.lifecycle.assertRunning();
    const to = parseInput(RecipientSchema, toRaw, 'to');
    const opts = parseInput(SendOptionsSchema, options, 'options');
    checkPayload(payload, ctx.cfg.maxPayloadBytes);
    const dedupeKey = opts.dedupeKey ?? null;
    const messageId = dedupeKey ? ids.derive(`message:${from}`, dedupeKey) : ids.uuid();
    const priority = opts.priority ?? DEFAULT_PRIORITY;
    const sent = dedupeKey ? await ctx.queue.exists(ctx.sql, messageId) : null;
    if (sent && sent.recipient !== to) {
      // A key names one message: the same key to another recipient returned the first message's
      // id and sent nothing, silently (an attacker's try through the API).
      throw new InvalidInput('options.dedupeKey', `${JSON.stringify(dedupeKey)} already named message ${messageId} to ${sent.recipient}; a key names one message, so use another for ${to}`);
    }
    if (sent) return { messageId };
    await checkRecipient(ctx, to);
    await admit(ctx, to, messageId, opts.timeoutMs ?? ctx.cfg.sendTimeoutMs);

    // Without the outbox trigger the projection writes the row: listen for it before appending.
    const waiter = parts.outboxOn() ? null : waiters.wait(messageId, ctx.cfg.materialiseTimeoutMs);
    if (!waiter) wakeups.expect(messageId);
    try {
      await ctx.runtime.execute(from, (s) => {
        const status = statusOf(s.value);
        if (isTerminalStatus(status)) throw new InvalidTransition(from, status, 'sendMessage');
        return [{ type: 'MessageSent', data: { messageId, to, payload, priority, dedupeKey } }];
      });
    } catch (err) {
      waiter?.cancel();
      wakeups.forget(messageId);
      ctx.gate.release(to, messageId);
      throw err;
    }
    if (!waiter) {
      // The row committed with the event, so the database counts it now: the reservation ends
      // here. A recipient that ended between the check above and this commit finds it
      // dead-lettered ('recipient <status>'), not lost.
      ctx.gate.release(to, messageId);
      wakeups.announce(to);
      return { messageId };
    }
    waiters.nudgeUntilSettled(messageId);
    const state = await waiter.promise;
    if (!state) ctx.log.warn({ agentId: from, messageId }, 'message recorded but not yet receivable; it will be delivered');
    if (state?.state === 'dead' && state.deadReason?.startsWith('recipient ')) {
      throw new RecipientUnavailable(to, `${state.deadReason} before the message arrived (message ${messageId} is in the dead letters)`);
    }
    return { messageId };
  }

  return (from, to, payload, options = {}) => {
    if (!options.dedupeKey) return sendOnce(from, to, payload, options);
    const key = `${from}\u0000${options.dedupeKey}`;
    const running = sending.get(key);
    if (running?.to === to) return running.promise;
    // Another recipient under a key in flight: after it, where the key is refused (sendOnce).
    if (running) return running.promise.then(() => sendOnce(from, to, payload, options), () => sendOnce(from, to, payload, options));
    const p = sendOnce(from, to, payload, options).finally(() => sending.delete(key));
    sending.set(key, { to, promise: p });
    return p;
  };
}
