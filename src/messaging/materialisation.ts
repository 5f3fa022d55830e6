import { backoffMs } from '../infra/backoff.js';
import type { MessagingContext } from './messagingContext.js';
import type { MessageState } from './queueSql.js';

/**
 * Nudges of the store's subscription while a send waits: 3, 6, 12 … 384 ms apart, then no more
 * (the wait itself still ends at `materialiseTimeoutMs`).
 */
const NUDGE_BACKOFF = { baseMs: 3 } as const;
const NUDGES = 8;

/** A send's wait for its row; `cancel` ends it with null. */
export interface MaterialisationWait {
  readonly promise: Promise<MessageState | null>;
  cancel(): void;
}

/**
 * Sends waiting for their message to become receivable, by message id: the path where the
 * projection, not the outbox trigger, writes the row. A batch this process applied, or a
 * notification from another process, settles them.
 */
export class MaterialisationWaiters {
  private readonly waiting = new Map<string, Set<(s: MessageState | null) => void>>();
  private checking: Promise<void> | undefined;

  /** `nudge` wakes the store's subscriptions (null: the store needs no nudging). */
  constructor(
    private readonly ctx: MessagingContext,
    private readonly nudge: (() => Promise<void>) | null,
  ) {}

  /** The row of `s` exists (or the lookup gave up: null): its reservation ends, its sends resume. */
  settle(s: MessageState | null, messageId: string): void {
    if (s) this.ctx.gate.release(s.recipient, messageId);
    const ws = this.waiting.get(messageId);
    if (!ws) return;
    this.waiting.delete(messageId);
    for (const w of ws) w(s);
  }

  /** Ends every wait with null (stopping). */
  settleAll(): void {
    for (const id of [...this.waiting.keys()]) this.settle(null, id);
  }

  /** Waits up to `timeoutMs` for the row of `messageId`; start it before appending the event. */
  wait(messageId: string, timeoutMs: number): MaterialisationWait {
    let resolver!: (s: MessageState | null) => void;
    const promise = new Promise<MessageState | null>((resolve) => {
      const timer = setTimeout(() => {
        // One last look: the row may exist though no signal reached us.
        void this.ctx.queue.exists(this.ctx.sql, messageId).then((s) => this.settle(s, messageId), () => this.settle(null, messageId));
      }, timeoutMs);
      resolver = (s) => {
        clearTimeout(timer);
        resolve(s);
      };
    });
    let set = this.waiting.get(messageId);
    if (!set) this.waiting.set(messageId, (set = new Set()));
    set.add(resolver);
    const cancel = (): void => {
      const s = this.waiting.get(messageId);
      s?.delete(resolver);
      if (s?.size === 0) this.waiting.delete(messageId);
      resolver(null);
    };
    return { promise, cancel };
  }

  /**
   * A committed send not yet materialised may sit behind another transaction that was open when
   * the projector looked (the store's visibility rule); nudge the subscription a few times, with
   * backoff, while its sender waits. Bounded: stops as soon as the message is receivable.
   */
  nudgeUntilSettled(messageId: string): void {
    const nudge = this.nudge;
    if (!nudge) return;
    const tick = (attempt: number): void => {
      if (!this.waiting.has(messageId) || this.ctx.lifecycle.stopped) return;
      void nudge().catch(() => undefined);
      if (attempt + 1 < NUDGES) setTimeout(() => tick(attempt + 1), backoffMs(attempt + 1, NUDGE_BACKOFF)).unref?.();
    };
    setTimeout(() => tick(0), backoffMs(0, NUDGE_BACKOFF)).unref?.();
  }

  /** Another process materialised something: look up the sends still waiting here. */
  checkWaiting(): void {
    if (this.checking || this.waiting.size === 0) return;
    this.checking = (async () => {
      for (const s of await this.ctx.queue.states(this.ctx.sql, [...this.waiting.keys()])) this.settle(s, s.messageId);
    })()
      .catch((err: unknown) => this.ctx.log.warn({ err: String(err) }, 'checking materialised messages failed'))
      .finally(() => (this.checking = undefined));
  }

  /** Resolves when a lookup under way has finished. */
  async idle(): Promise<void> {
    await this.checking;
  }
}
