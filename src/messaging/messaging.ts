import { randomUUID } from 'node:crypto';
import type { DomainEvent } from '../events/catalogue.js';
import type { EventStore } from '../events/eventStore.js';
import { InboxFull, InvalidInput, InvalidTransition, NotFound, RecipientUnavailable } from '../errors.js';
import type { HandleMessaging } from '../actors/agentHandle.js';
import type { MessagePort, ReceivedMessage } from '../actors/ports/messagePort.js';
import type { Logger } from '../actors/ports/runtimePorts.js';
import type { AgentSnapshot } from '../actors/replay.js';
import { isTerminalStatus, statusOf } from '../actors/agentMachine.js';
import { CoalescingNotifier } from '../infra/sql/coalescingNotifier.js';
import { migrate } from '../infra/sql/migrate.js';
import { assertIdentifier, type SqlClient } from '../infra/sql/sqlClient.js';
import { systemIds } from '../infra/ids.js';
import { notifyChannel } from '../events/stores/postgres/schema.js';
import { parseInput } from '../validation.js';
import { InboxGate } from './inboxGate.js';
import { KeyedSignal } from './keyedSignal.js';
import { DEFAULT_PRIORITY } from './priority.js';
import { PeekOptionsSchema, ReceiveOptionsSchema, RecipientSchema, SendOptionsSchema, checkPayload } from './payload.js';
import { MessageProjector, type AppliedBatch, type OutboxedMessage } from './projector.js';
import { QueueSql, type DeadLetter, type MessageState, type PeekedMessage } from './queueSql.js';
import { messagesChannel, messagingMigrations } from './schema.js';

/** What messaging needs of the actor runtime (AgentRuntime has it). */
export interface MessagingRuntime {
  execute(id: string, decide: (snapshot: AgentSnapshot) => DomainEvent[] | Promise<DomainEvent[]>): Promise<DomainEvent[]>;
  state(id: string): Promise<{ readonly status: string }>;
}

export interface MessagingOptions {
  /** Most pending + in-flight messages one inbox holds. Default 1,000. */
  readonly inboxLimit?: number;
  /** How long a send waits for room in a full inbox before `InboxFull`. Default 5,000 ms. */
  readonly sendTimeoutMs?: number;
  /** How long a claimed message stays invisible before it is redelivered. Default 30,000 ms. */
  readonly visibilityTimeoutMs?: number;
  /** Deliveries without an ack before a message is dead-lettered. Default 5. */
  readonly maxAttempts?: number;
  /** Largest payload, as JSON bytes (UTF-8). Default 256 KiB. */
  readonly maxPayloadBytes?: number;
  /** Longest a send waits for its message to become receivable. Default 10,000 ms. */
  readonly materialiseTimeoutMs?: number;
}

export interface MessagingDeps {
  readonly runtime: MessagingRuntime;
  readonly store: EventStore;
  /** Where the queue tables live: the store's database, or the projections' one. */
  readonly sql: SqlClient;
  readonly schema: string;
  readonly logger: Logger;
  readonly ids?: { uuid(): string; derive(namespace: string, name: string): string };
  readonly now?: () => number;
  readonly options?: MessagingOptions;
}

export interface SendOptions {
  readonly priority?: number;
  readonly dedupeKey?: string;
  /** Overrides `sendTimeoutMs` for this send. */
  readonly timeoutMs?: number;
}

export interface PeekOptions {
  /** Most messages to show. Default 10, at most 1,000. */
  readonly limit?: number;
}

export interface ReceiveOptions {
  /** Most messages to take. Default 10. */
  readonly max?: number;
  /** Wait up to this long for a first message (LISTEN/NOTIFY, no polling). Default 0. */
  readonly waitMs?: number;
  /** Acknowledge as soon as they are received. Default false. */
  readonly ack?: boolean;
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
  /** For the runtime (`deps.messages`): tools prepare, the runtime records. */
  readonly port: MessagePort;
  /** For `AgentHandle`: send, receive and ack record their own events. */
  readonly handle: HandleMessaging;
  /** The global position the queue projection has applied. */
  readonly position: bigint;
  start(): Promise<void>;
  stop(): Promise<void>;
}

const DEFAULTS = {
  inboxLimit: 1000,
  sendTimeoutMs: 5000,
  visibilityTimeoutMs: 30_000,
  maxAttempts: 5,
  maxPayloadBytes: 256 * 1024,
  materialiseTimeoutMs: 10_000,
} as const;

const positiveInt = (v: number | undefined, fallback: number, field: string, min = 1): number => {
  const n = v ?? fallback;
  if (!Number.isInteger(n) || n < min) throw new InvalidInput(`messaging.${field}`, `must be an integer >= ${min}`);
  return n;
};

/** Poll interval for room in a full inbox: acks in other processes send no notification. */
const CAPACITY_POLL_MS = 100;
/** A reservation whose MessageSent never got recorded (a crashed tool call) stops counting after this. */
const RESERVATION_TTL_MS = 30_000;
/** Recipient lists longer than this (of Postgres's 8,000-byte NOTIFY payload) become '*'. */
const NOTIFY_PAYLOAD_MAX = 7_000;
/** Outbox sends remembered until the projector sees them (see `sentHere`). */
const SENT_HERE_MAX = 100_000;

/**
 * Durable agent-to-agent messages: `MessageSent` in the sender's stream is the truth, the
 * `messages` table is its projection, receivers claim with `FOR UPDATE SKIP LOCKED` and record
 * `MessageReceived`, acks record `MessageAcked`. See docs/messaging.md.
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
  const o = deps.options ?? {};
  const cfg = {
    inboxLimit: positiveInt(o.inboxLimit, DEFAULTS.inboxLimit, 'inboxLimit'),
    sendTimeoutMs: positiveInt(o.sendTimeoutMs, DEFAULTS.sendTimeoutMs, 'sendTimeoutMs', 0),
    visibilityTimeoutMs: positiveInt(o.visibilityTimeoutMs, DEFAULTS.visibilityTimeoutMs, 'visibilityTimeoutMs'),
    maxAttempts: positiveInt(o.maxAttempts, DEFAULTS.maxAttempts, 'maxAttempts'),
    maxPayloadBytes: positiveInt(o.maxPayloadBytes, DEFAULTS.maxPayloadBytes, 'maxPayloadBytes'),
    materialiseTimeoutMs: positiveInt(o.materialiseTimeoutMs, DEFAULTS.materialiseTimeoutMs, 'materialiseTimeoutMs'),
  };
  const { runtime, sql } = deps;
  const ids = deps.ids ?? systemIds;
  const now = deps.now ?? Date.now;
  const log = deps.logger.child({ component: 'messaging' });
  const queue = new QueueSql(schema);
  const channel = messagesChannel(schema);
  const instanceId = randomUUID().slice(0, 8);
  const gate = new InboxGate(now);
  /** Receivers wait here for new messages, per recipient. */
  const arrivals = new KeyedSignal();
  /** Full-inbox senders wait here for room, per recipient. */
  const capacity = new KeyedSignal();
  /** Sends waiting for their message to be materialised, by message id. */
  const materialised = new Map<string, Set<(s: MessageState | null) => void>>();
  const sending = new Map<string, Promise<{ messageId: string }>>();
  let started = false;
  let stopped = false;
  let unlisten: (() => Promise<void>) | undefined;
  let sweeper: ReturnType<typeof setInterval> | undefined;
  let checking: Promise<void> | undefined;

  const settle = (s: MessageState | null, id: string): void => {
    const ws = materialised.get(id);
    if (!ws) return;
    materialised.delete(id);
    for (const w of ws) w(s);
  };

  const onApplied = (b: AppliedBatch): void => {
    for (const m of b.messages) {
      gate.release(m.recipient, m.messageId);
      settle(m, m.messageId);
    }
    for (const r of b.woken) arrivals.fire(r);
    for (const r of b.freed) {
      capacity.fire(r);
      arrivals.fire(r);
    }
  };

  // The SQL store on this database wakes its subscriptions on its own channel (see projector).
  const storeSchema = (deps.store as { schema?: unknown }).schema;
  const storeChannel = (deps.store.kind === 'postgres' || deps.store.kind === 'pglite') && typeof storeSchema === 'string' ? notifyChannel(storeSchema) : null;
  /**
   * Set at start when the store appends in this schema and the outbox trigger (schema.ts) is in
   * place: from this position on, the row of every MessageSent commits with its event.
   */
  let outboxSince: bigint | null = null;
  /**
   * Receivers in other processes learn of outbox-written messages from one NOTIFY per few ms
   * naming their recipients (a NOTIFY is a commit of its own: one per message would cost as much
   * as the sends). Past what fits in a payload, everyone is woken.
   */
  const remoteArrivals = new CoalescingNotifier((recipients) => {
    const list = [...recipients].join(',');
    return queue.notify(sql, channel, `${instanceId}|${list.length <= NOTIFY_PAYLOAD_MAX ? list : '*'}`);
  });
  /** Outbox sends from this process not yet seen by the projector: their receivers were woken at send. */
  const sentHere = new Set<string>();
  const onOutboxed = (messages: readonly OutboxedMessage[]): void => {
    for (const m of messages) if (!sentHere.delete(m.messageId)) arrivals.fire(m.recipient);
  };
  const projector = new MessageProjector({ store: deps.store, sql, queue, channel, instanceId, logger: log, storeChannel, onApplied, onOutboxed });

  /**
   * A committed send not yet materialised may sit behind another transaction that was open when
   * the projector looked (the store's visibility rule); nudge the subscription a few times, with
   * backoff, while its sender waits. Bounded: stops as soon as the message is receivable.
   */
  const nudgeUntilMaterialised = (messageId: string): void => {
    if (!storeChannel) return;
    let delay = 3;
    const tick = (): void => {
      if (!materialised.has(messageId) || stopped) return;
      void projector.nudge().catch(() => undefined);
      delay *= 2;
      if (delay <= 400) setTimeout(tick, delay).unref?.();
    };
    setTimeout(tick, delay).unref?.();
  };

  /** Another process materialised something: look up the sends still waiting here. */
  const checkWaiting = (): void => {
    if (checking || materialised.size === 0) return;
    checking = (async () => {
      const states = await queue.states(sql, [...materialised.keys()]);
      for (const s of states) {
        gate.release(s.recipient, s.messageId);
        settle(s, s.messageId);
      }
    })()
      .catch((err: unknown) => log.warn({ err: String(err) }, 'checking materialised messages failed'))
      .finally(() => (checking = undefined));
  };

  const onNotify = (payload: string): void => {
    const bar = payload.indexOf('|');
    if (payload.slice(0, bar) === instanceId) return; // our own batch: already handled in onApplied
    const list = payload.slice(bar + 1);
    if (list === '*') arrivals.fireAll();
    else for (const r of list.split(',')) arrivals.fire(r);
    checkWaiting();
  };

  const waitMaterialised = (messageId: string, timeoutMs: number): { promise: Promise<MessageState | null>; cancel(): void } => {
    let resolver!: (s: MessageState | null) => void;
    const promise = new Promise<MessageState | null>((resolve) => {
      const timer = setTimeout(() => {
        // One last look: the row may exist though no signal reached us.
        void queue.exists(sql, messageId).then((s) => settle(s, messageId), () => settle(null, messageId));
      }, timeoutMs);
      resolver = (s) => {
        clearTimeout(timer);
        resolve(s);
      };
    });
    let set = materialised.get(messageId);
    if (!set) materialised.set(messageId, (set = new Set()));
    set.add(resolver);
    return {
      promise,
      cancel() {
        const s = materialised.get(messageId);
        s?.delete(resolver);
        if (s?.size === 0) materialised.delete(messageId);
        resolver(null);
      },
    };
  };

  const assertRunning = (): void => {
    if (!started || stopped) throw new InvalidInput('messaging', stopped ? 'messaging has stopped' : 'messaging has not been started');
  };

  /** The recipient must exist and still be able to take messages. */
  async function checkRecipient(to: string): Promise<void> {
    let status: string;
    try {
      status = (await runtime.state(to)).status;
    } catch (err) {
      if (err instanceof NotFound) throw new RecipientUnavailable(to, 'no agent has this id');
      throw err;
    }
    if (status === 'completed' || status === 'failed' || status === 'terminated') throw new RecipientUnavailable(to, `the agent has ${status === 'terminated' ? 'been terminated' : status}`);
  }

  /** Waits for room in the recipient's inbox and reserves a place for `messageId`. */
  async function admit(to: string, messageId: string, timeoutMs: number): Promise<void> {
    const deadline = now() + timeoutMs;
    for (;;) {
      const seen = capacity.current;
      const depth = await gate.exclusive(to, async () => {
        const d = (await queue.depth(sql, to)) + gate.unprojected(to);
        if (d < cfg.inboxLimit) gate.reserve(to, messageId, RESERVATION_TTL_MS);
        return d;
      });
      if (depth < cfg.inboxLimit) return;
      const left = deadline - now();
      if (left <= 0 || stopped) throw new InboxFull(to, depth, cfg.inboxLimit);
      await capacity.wait(to, seen, Math.min(left, CAPACITY_POLL_MS));
    }
  }

  interface Prepared {
    readonly messageId: string;
    readonly to: string;
    readonly priority: number;
    readonly dedupeKey: string | null;
    /** The message already exists (a repeated dedupe key): nothing more to do. */
    readonly existing: MessageState | null;
  }

  async function prepare(from: string, toRaw: unknown, payload: unknown, options: SendOptions): Promise<Prepared> {
    assertRunning();
    const to = parseInput(RecipientSchema, toRaw, 'to');
    const opts = parseInput(SendOptionsSchema, options, 'options');
    checkPayload(payload, cfg.maxPayloadBytes);
    const dedupeKey = opts.dedupeKey ?? null;
    const messageId = dedupeKey ? ids.derive(`message:${from}`, dedupeKey) : ids.uuid();
    const priority = opts.priority ?? DEFAULT_PRIORITY;
    if (dedupeKey) {
      const existing = await queue.exists(sql, messageId);
      if (existing) return { messageId, to, priority, dedupeKey, existing };
    }
    await checkRecipient(to);
    await admit(to, messageId, opts.timeoutMs ?? cfg.sendTimeoutMs);
    return { messageId, to, priority, dedupeKey, existing: null };
  }

  async function sendOnce(from: string, toRaw: unknown, payload: unknown, options: SendOptions): Promise<{ messageId: string }> {
    const p = await prepare(from, toRaw, payload, options);
    if (p.existing) return { messageId: p.messageId };
    // Without the outbox trigger the projection writes the row: listen for it before appending.
    const waiter = outboxSince === null ? waitMaterialised(p.messageId, cfg.materialiseTimeoutMs) : null;
    if (!waiter) {
      // Bounded: should the projector stop following, forgetting costs only a spurious wake-up.
      if (sentHere.size >= SENT_HERE_MAX) sentHere.clear();
      sentHere.add(p.messageId);
    }
    try {
      await runtime.execute(from, (s) => {
        const status = statusOf(s.value);
        if (isTerminalStatus(status)) throw new InvalidTransition(from, status, 'sendMessage');
        return [{ type: 'MessageSent', data: { messageId: p.messageId, to: p.to, payload, priority: p.priority, dedupeKey: p.dedupeKey } }];
      });
    } catch (err) {
      waiter?.cancel();
      sentHere.delete(p.messageId);
      gate.release(p.to, p.messageId);
      throw err;
    }
    if (!waiter) {
      // The row committed with the event: wake the recipient now, here and (coalesced) in other
      // processes. A recipient that ended between the check above and this commit finds it
      // dead-lettered ('recipient <status>'), not lost.
      gate.release(p.to, p.messageId);
      arrivals.fire(p.to);
      remoteArrivals.poke(p.to);
      return { messageId: p.messageId };
    }
    nudgeUntilMaterialised(p.messageId);
    const state = await waiter.promise;
    if (!state) log.warn({ agentId: from, messageId: p.messageId }, 'message recorded but not yet receivable; it will be delivered');
    if (state?.state === 'dead' && state.deadReason?.startsWith('recipient ')) {
      throw new RecipientUnavailable(p.to, `${state.deadReason} before the message arrived (message ${p.messageId} is in the dead letters)`);
    }
    return { messageId: p.messageId };
  }

  function send(from: string, to: string, payload: unknown, options: SendOptions = {}): Promise<{ messageId: string }> {
    if (!options.dedupeKey) return sendOnce(from, to, payload, options);
    // The same key sent twice at once from this process: one send, both get its id.
    const key = `${from}\u0000${options.dedupeKey}`;
    const running = sending.get(key);
    if (running) return running;
    const p = sendOnce(from, to, payload, options).finally(() => sending.delete(key));
    sending.set(key, p);
    return p;
  }

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
    assertRunning();
    const recipient = parseInput(RecipientSchema, recipientRaw, 'recipient');
    const opts = parseInput(ReceiveOptionsSchema, options, 'options');
    const max = opts.max ?? 10;
    const deadline = now() + (opts.waitMs ?? 0);
    const status = (await runtime.state(recipient)).status;
    if (status === 'completed' || status === 'failed' || status === 'terminated') throw new RecipientUnavailable(recipient, `the agent has ${status === 'terminated' ? 'been terminated' : status}`);
    for (;;) {
      const seen = arrivals.current;
      const { got, nextVisibleInMs: nextVisible } = await claim(recipient, max);
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
      const left = deadline - now();
      if (left <= 0 || stopped) return [];
      await arrivals.wait(recipient, seen, Math.min(left, nextVisible === null ? left : nextVisible + 1));
    }
  }

  async function peek(recipientRaw: string, options: PeekOptions = {}): Promise<PeekedMessage[]> {
    const recipient = parseInput(RecipientSchema, recipientRaw, 'recipient');
    const { limit } = parseInput(PeekOptionsSchema, options, 'options');
    return queue.peek(sql, recipient, limit ?? 10);
  }

  async function ack(recipientRaw: string, messageIds: readonly string[]): Promise<string[]> {
    assertRunning();
    const recipient = parseInput(RecipientSchema, recipientRaw, 'recipient');
    if (!Array.isArray(messageIds) || messageIds.some((m) => typeof m !== 'string')) throw new InvalidInput('messageIds', 'must be an array of message ids');
    if (messageIds.length === 0) return [];
    const acked = await queue.ack(sql, recipient, messageIds);
    if (acked.length === 0) return acked;
    capacity.fire(recipient);
    await runtime.execute(recipient, () => acked.map((messageId) => ({ type: 'MessageAcked' as const, data: { messageId } })));
    return acked;
  }

  async function sweep(recipient: string | null): Promise<void> {
    for (const r of await queue.sweep(sql, cfg.maxAttempts, recipient)) capacity.fire(r);
  }

  const port: MessagePort = {
    async prepare(from, to, payload, options) {
      const p = await prepare(from, to, payload, options);
      return { messageId: p.messageId, priority: p.priority, dedupeKey: p.dedupeKey };
    },
    receive: (recipient, options) => receive(recipient, options, false),
    async ack(recipient, messageIds) {
      await ack(recipient, messageIds);
    },
  };

  const handle: HandleMessaging = {
    send: (from, to, payload, options) => send(from, to, payload, options),
    peek: (recipient, options) => peek(recipient, options),
    receive: (recipient, options) => receive(recipient, options),
    async ack(recipient, messageIds) {
      await ack(recipient, messageIds);
    },
  };

  return {
    port,
    handle,
    send,
    receive: (recipient, options) => receive(recipient, options),
    peek,
    ack,
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
    get position() {
      return projector.position;
    },
    async start() {
      if (started) return;
      await migrate(sql, schema, 'messaging', messagingMigrations(schema));
      outboxSince = storeChannel !== null && storeSchema === schema ? await queue.outboxSince(sql) : null;
      projector.outboxSince = outboxSince;
      unlisten = await sql.listen(channel, onNotify);
      started = true;
      stopped = false;
      projector.start();
      sweeper = setInterval(() => {
        arrivals.prune();
        capacity.prune();
        void sweep(null).catch((err: unknown) => log.warn({ err: String(err) }, 'dead-letter sweep failed'));
      }, Math.max(1000, Math.min(cfg.visibilityTimeoutMs, 30_000)));
      sweeper.unref?.();
    },
    async stop() {
      if (!started || stopped) return;
      stopped = true;
      if (sweeper) clearInterval(sweeper);
      arrivals.fireAll();
      capacity.fireAll();
      for (const id of [...materialised.keys()]) settle(null, id);
      await projector.stop();
      await remoteArrivals.drain();
      await checking;
      await unlisten?.().catch(() => undefined);
    },
  };
}
