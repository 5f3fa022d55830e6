import { CoalescingNotifier } from '../infra/sql/coalescingNotifier.js';
import type { KeyedSignal } from '../infra/signals.js';
import type { MessagingContext } from './messagingContext.js';
import type { OutboxedMessage } from './projector.js';

/** Recipient lists longer than this (of Postgres's 8,000-byte NOTIFY payload) become '*'. */
const NOTIFY_PAYLOAD_MAX = 7_000;
/** Outbox sends remembered until the projector sees them (see `sentHere`). */
const SENT_HERE_MAX = 100_000;

/**
 * Who wakes which receiver when a message arrives. A message sent here wakes its receivers here
 * at once and, coalesced, in other processes: one NOTIFY per few ms naming their recipients (a
 * NOTIFY is a commit of its own: one per message would cost as much as the sends). The
 * notifications are tagged with this process's `instanceId` so it can skip its own.
 */
export class OutboxWakeups {
  /** Outbox sends from this process not yet seen by the projector: their receivers were woken at send. */
  private readonly sentHere = new Set<string>();
  private readonly remote: CoalescingNotifier;
  private readonly arrivals: KeyedSignal;

  constructor(
    ctx: MessagingContext,
    channel: string,
    readonly instanceId: string,
    /** Called when another process materialised something (sends here may be waiting on it). */
    private readonly onRemoteBatch: () => void,
  ) {
    this.arrivals = ctx.arrivals;
    this.remote = new CoalescingNotifier((recipients) => {
      const list = [...recipients].join(',');
      return ctx.queue.notify(ctx.sql, channel, `${instanceId}|${list.length <= NOTIFY_PAYLOAD_MAX ? list : '*'}`);
    });
  }

  /** A send is about to commit its row with its event: the projector need not wake anyone for it. */
  expect(messageId: string): void {
    // Bounded: should the projector stop following, forgetting costs only a spurious wake-up.
    if (this.sentHere.size >= SENT_HERE_MAX) this.sentHere.clear();
    this.sentHere.add(messageId);
  }

  /** The send did not commit after all. */
  forget(messageId: string): void {
    this.sentHere.delete(messageId);
  }

  /** The row committed with the event: wake the recipient here and (coalesced) elsewhere. */
  announce(recipient: string): void {
    this.arrivals.fire(recipient);
    this.remote.poke(recipient);
  }

  /**
   * Outbox-written messages the projector saw: wakes their receivers here unless this process
   * sent them (and woke them already), so a message reaches them even if its sender died before
   * its NOTIFY went out.
   */
  readonly onOutboxed = (messages: readonly OutboxedMessage[]): void => {
    for (const m of messages) if (!this.sentHere.delete(m.messageId)) this.arrivals.fire(m.recipient);
  };

  /** A notification on the queue's channel: `instanceId|recipient,recipient…` or `instanceId|*`. */
  readonly onNotify = (payload: string): void => {
    const bar = payload.indexOf('|');
    if (payload.slice(0, bar) === this.instanceId) return; // our own batch: already handled in onApplied
    const list = payload.slice(bar + 1);
    if (list === '*') this.arrivals.fireAll();
    else for (const r of list.split(',')) this.arrivals.fire(r);
    this.onRemoteBatch();
  };

  /** Sends the notifications still pending. */
  drain(): Promise<void> {
    return this.remote.drain();
  }
}
