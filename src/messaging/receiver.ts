import { InvalidInput, RecipientUnavailable } from '../errors.js';
import { isTerminalStatus, statusOf } from '../actors/agentMachine.js';
import type { ReceivedMessage } from '../actors/ports/messagePort.js';
import { parseInput } from '../validation.js';
import { refuseEnded } from './admission.js';
import type { MessagingContext } from './messagingContext.js';
import type { ReceiveOptions } from './messagingOptions.js';
import { ReceiveOptionsSchema, RecipientSchema } from './payload.js';

export interface Receiver {
  /**
   * Claims the recipient's best messages, waiting up to `waitMs` for a first one. `record`:
   * whether to record `MessageReceived` here (an agent's tool records it in its own step).
   */
  receive(recipient: string, options?: ReceiveOptions, record?: boolean): Promise<ReceivedMessage[]>;
  /** Acknowledges claimed messages, records `MessageAcked`; returns the ids acknowledged now. */
  ack(recipient: string, messageIds: readonly string[]): Promise<string[]>;
}

/**
 * The receiving side: claims with `FOR UPDATE SKIP LOCKED`, records `MessageReceived`, acks.
 * Claiming and acking free room in the inbox, so they wake the senders waiting for it.
 *
 * @example
 * const { receive, ack } = createReceiver(ctx);
 * const [msg] = await receive(devId, { waitMs: 5_000 });
 * await ack(devId, [msg!.messageId]);
 */
export function createReceiver(ctx: MessagingContext): Receiver {
  const { sql, queue, runtime, cfg, arrivals, capacity } = ctx;

  /** Claims deliverable messages; ones out of deliveries are dead-lettered on the way. */
  async function claim(recipient: string, max: number): Promise<{ got: ReceivedMessage[]; nextVisibleInMs: number | null }> {
    const got: ReceivedMessage[] = [];
    for (;;) {
      const { rows, nextVisibleInMs } = await queue.claim(sql, recipient, max - got.length, cfg.maxAttempts, cfg.visibilityTimeoutMs);
      const live = rows.filter((r) => !r.dead);
      for (const r of live) got.push({ messageId: r.messageId, from: r.from, payload: r.payload, priority: r.priority, attempt: r.attempt, sentAt: r.sentAt });
      // Only dead-lettered rows this time: look again (unless nothing was claimed at all).
      if (live.length === rows.length) return { got, nextVisibleInMs: got.length === 0 ? nextVisibleInMs : null };
      capacity.fire(recipient);
      if (got.length >= max) return { got, nextVisibleInMs: null };
    }
  }

  async function receive(recipientRaw: string, options: ReceiveOptions = {}, record = true): Promise<ReceivedMessage[]> {
    ctx.lifecycle.assertRunning();
    const recipient = parseInput(RecipientSchema, recipientRaw, 'recipient');
    const opts = parseInput(ReceiveOptionsSchema, options, 'options');
    const max = opts.max ?? 10;
    const deadline = ctx.now() + (opts.waitMs ?? 0);
    refuseEnded(recipient, (await runtime.state(recipient)).status);
    for (;;) {
      const seen = arrivals.current;
      const { got, nextVisibleInMs } = await claim(recipient, max);
      if (got.length > 0) {
        if (record) {
          await runtime.execute(recipient, (s) => {
            const st = statusOf(s.value);
            if (isTerminalStatus(st)) throw new RecipientUnavailable(recipient, `the agent has ${st}`);
            return got.map((m) => ({ type: 'MessageReceived' as const, data: { messageId: m.messageId, from: m.from, attempt: m.attempt } }));
          });
        }
        if (opts.ack) await ack(recipient, got.map((m) => m.messageId));
        return got;
      }
      const left = deadline - ctx.now();
      if (left <= 0 || ctx.lifecycle.stopped) return [];
      await arrivals.wait(recipient, seen, Math.min(left, nextVisibleInMs === null ? left : nextVisibleInMs + 1));
    }
  }

  async function ack(recipientRaw: string, messageIds: readonly string[]): Promise<string[]> {
    ctx.lifecycle.assertRunning();
    const recipient = parseInput(RecipientSchema, recipientRaw, 'recipient');
    if (!Array.isArray(messageIds) || messageIds.some((m) => typeof m !== 'string')) throw new InvalidInput('messageIds', 'must be an array of message ids');
    if (messageIds.length === 0) return [];
    const acked = await queue.ack(sql, recipient, messageIds);
    if (acked.length === 0) return acked;
    capacity.fire(recipient);
    await runtime.execute(recipient, () => acked.map((messageId) => ({ type: 'MessageAcked' as const, data: { messageId } })));
    return acked;
  }

  return { receive, ack };
}
