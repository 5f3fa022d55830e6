import { randomUUID } from 'node:crypto';
import type { EventStore } from '../events/eventStore.js';
import type { HandleMessaging } from '../actors/agentHandle.js';
import type { MessagePort, ReceivedMessage } from '../actors/ports/messagePort.js';
import type { Clock, Logger } from '../actors/ports/runtimePorts.js';
import { systemClock, systemIds } from '../infra/ids.js';
import { KeyedSignal } from '../infra/signals.js';
import { migrate } from '../infra/sql/migrate.js';
import { assertIdentifier, type SqlClient } from '../infra/sql/sqlClient.js';
import { notifyChannel } from '../events/stores/postgres/schema.js';
import { InboxGate } from './inboxGate.js';
import { MaterialisationWaiters } from './materialisation.js';
import { MessagingLifecycle, type MessagingContext, type MessagingRuntime } from './messagingContext.js';
import { resolveMessagingOptions, type MessagingOptions, type PeekOptions, type ReceiveOptions, type SendOptions } from './messagingOptions.js';
import { OutboxWakeups } from './outboxWakeups.js';
import { MessageProjector, type AppliedBatch } from './projector.js';
import { createQueueQueries } from './queueQueries.js';
import { QueueSql, type DeadLetter, type PeekedMessage } from './queueSql.js';
import { createReceiver } from './receiver.js';
import { messagesChannel, messagingMigrations } from './schema.js';
import { createSend } from './sender.js';

export type { MessagingRuntime } from './messagingContext.js';
export type { MessagingOptions, PeekOptions, ReceiveOptions, SendOptions } from './messagingOptions.js';

export interface MessagingDeps {
  readonly runtime: MessagingRuntime;
  readonly store: EventStore;
  /** Where the queue tables live: the store's database, or the projections' one. */
  readonly sql: SqlClient;
  readonly schema: string;
  readonly logger: Logger;
  readonly ids?: { uuid(): string; derive(namespace: string, name: string): string };
  /** Time for send and receive deadlines and reservation expiry (the system's injected clock). Default the system clock. */
  readonly clock?: Clock;
  readonly options?: MessagingOptions;
}

/**
 * `system.messaging`: durable messages between agents, and the operator's queries over the queue
 * (what `cadre send`, `cadre inbox` and the dashboard's dead letters use).
 *
 * @example
 * await system.messaging.send(leadId, devId, { task: 'review PR 12' }, { priority: 7 });
 * const waiting = await system.messaging.peek(devId);            // records nothing
 * const dead = await system.messaging.deadLetters({ limit: 20 });
 */
export interface Messaging {
  send(from: string, to: string, payload: unknown, options?: SendOptions): Promise<{ messageId: string }>;
  receive(recipient: string, options?: ReceiveOptions): Promise<ReceivedMessage[]>;
  /**
   * The messages `receive` would take now, best first, without taking them: no event is
   * recorded, no delivery attempt counted, no visibility changed. Works in a read-only system.
   */
  peek(recipient: string, options?: PeekOptions): Promise<PeekedMessage[]>;
  /** Acknowledges claimed messages; returns the ids acknowledged by this call. */
  ack(recipient: string, messageIds: readonly string[]): Promise<string[]>;
  /** Messages that will not be delivered, oldest first. */
  deadLetters(query?: { recipient?: string; limit?: number }): Promise<DeadLetter[]>;
  /** Pending + in-flight messages of an agent (what counts against its inbox bound). */
  queueDepth(agentId: string): Promise<number>;
}

/** The running queue as the composition root holds it: `Messaging` plus the wiring and the lifecycle. */
export interface MessagingService extends Messaging {
  /** For the runtime (`deps.messages`): agents' tools send, receive and ack through it. */
  readonly port: MessagePort;
  /** For `AgentHandle`: send, receive and ack record their own events. */
  readonly handle: HandleMessaging;
  /** The global position the queue projection has applied. */
  readonly position: bigint;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Durable agent-to-agent messages: `MessageSent` in the sender's stream is the truth, the
 * `messages` table is its projection, receivers claim with `FOR UPDATE SKIP LOCKED` and record
 * `MessageReceived`, acks record `MessageAcked`. See docs/messaging.md. This wires the parts:
 * sending (sender.ts, admission.ts), receiving (receiver.ts), the wake-ups (outboxWakeups.ts,
 * materialisation.ts) and the operator's queries (queueQueries.ts).
 *
 * @example
 * const messaging = createMessaging({ runtime, store, sql, schema: 'cadre', logger });
 * await messaging.start();
 * await messaging.send(leadId, devId, { task: 'review PR 12' }, { priority: 7 });
 * const [msg] = await messaging.receive(devId, { waitMs: 5_000 });
 * await messaging.ack(devId, [msg!.messageId]);
 * await messaging.stop();
 */
export function createMessaging(deps: MessagingDeps): MessagingService {
  const schema = assertIdentifier(deps.schema);
  const clock = deps.clock ?? systemClock;
  const now = (): number => clock.now().getTime();
  const queue = new QueueSql(schema);
  const channel = messagesChannel(schema);
  const lifecycle = new MessagingLifecycle();
  const log = deps.logger.child({ component: 'messaging' });
  const ctx: MessagingContext = {
    cfg: resolveMessagingOptions(deps.options),
    runtime: deps.runtime,
    sql: deps.sql,
    queue,
    log,
    now,
    gate: new InboxGate(now),
    arrivals: new KeyedSignal(),
    capacity: new KeyedSignal(),
    lifecycle,
  };

  // The SQL store on this database wakes its subscriptions on its own channel (see projector).
  const storeSchema = (deps.store as { schema?: unknown }).schema;
  const storeChannel = (deps.store.kind === 'postgres' || deps.store.kind === 'pglite') && typeof storeSchema === 'string' ? notifyChannel(storeSchema) : null;
  /**
   * Set at start when the store appends in this schema and the outbox trigger (schema.ts) is in
   * place: from this position on, the row of every MessageSent commits with its event.
   */
  let outboxSince: bigint | null = null;

  const waiters: MaterialisationWaiters = new MaterialisationWaiters(ctx, storeChannel ? () => projector.nudge() : null);
  const wakeups = new OutboxWakeups(ctx, channel, randomUUID().slice(0, 8), () => waiters.checkWaiting());
  const onApplied = (b: AppliedBatch): void => {
    for (const m of b.messages) waiters.settle(m, m.messageId);
    for (const r of b.woken) ctx.arrivals.fire(r);
    for (const r of b.freed) {
      ctx.capacity.fire(r);
      ctx.arrivals.fire(r);
    }
  };
  const projector = new MessageProjector({ store: deps.store, sql: deps.sql, queue, channel, instanceId: wakeups.instanceId, logger: log, storeChannel, onApplied, onOutboxed: wakeups.onOutboxed });

  const send = createSend({ ctx, ids: deps.ids ?? systemIds, waiters, wakeups, outboxOn: () => outboxSince !== null });
  const { receive, ack } = createReceiver(ctx);
  const queries = createQueueQueries(ctx);
  let unlisten: (() => Promise<void>) | undefined;
  let sweeper: ReturnType<typeof setInterval> | undefined;

  const handle: HandleMessaging = {
    send,
    peek: queries.peek,
    receive: (recipient, options) => receive(recipient, options),
    async ack(recipient, messageIds) {
      await ack(recipient, messageIds);
    },
  };

  return {
    // A tool's message goes the handle's way; only receiving differs (the tool records it).
    port: { send, receive: (recipient, options) => receive(recipient, options, false), ack: handle.ack },
    handle,
    send,
    receive: (recipient, options) => receive(recipient, options),
    peek: queries.peek,
    ack,
    deadLetters: queries.deadLetters,
    queueDepth: queries.queueDepth,
    get position() {
      return projector.position;
    },
    async start() {
      if (lifecycle.started) return;
      await migrate(deps.sql, schema, 'messaging', messagingMigrations(schema));
      outboxSince = storeChannel !== null && storeSchema === schema ? await queue.outboxSince(deps.sql) : null;
      projector.outboxSince = outboxSince;
      unlisten = await deps.sql.listen(channel, wakeups.onNotify);
      lifecycle.started = true;
      lifecycle.stopped = false;
      projector.start();
      sweeper = setInterval(() => {
        ctx.arrivals.prune();
        ctx.capacity.prune();
        void queries.sweep(null).catch((err: unknown) => log.warn({ err: String(err) }, 'dead-letter sweep failed'));
      }, Math.max(1000, Math.min(ctx.cfg.visibilityTimeoutMs, 30_000)));
      sweeper.unref?.();
    },
    async stop() {
      if (!lifecycle.started || lifecycle.stopped) return;
      lifecycle.stopped = true;
      if (sweeper) clearInterval(sweeper);
      ctx.arrivals.fireAll();
      ctx.capacity.fireAll();
      waiters.settleAll();
      await projector.stop();
      await wakeups.drain();
      await waiters.idle();
      await unlisten?.().catch(() => undefined);
    },
  };
}
