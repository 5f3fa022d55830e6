import type { RecordedEvent } from '../events/envelope.js';
import type { EventStore, Subscription } from '../events/eventStore.js';
import { MessageAcked, MessageSent } from '../events/schemas/messaging.js';
import { AGENT_STREAM_PREFIX, agentIdOfStream } from '../actors/streams.js';
import type { Logger } from '../actors/ports/runtimePorts.js';
import type { SqlClient } from '../infra/sql/sqlClient.js';
import { CheckpointMoved, type MessageState, type MessageToMaterialise, type QueueSql, type RecipientEnded } from './queueSql.js';
import { backoffMs } from '../infra/backoff.js';

/** What one committed batch changed, for the in-process waiters. */
export interface AppliedBatch {
  /** Final state of every message id the batch's `MessageSent` events named. */
  readonly messages: readonly MessageState[];
  /** Recipients with newly receivable messages. */
  readonly woken: readonly string[];
  /** Recipients whose inbox shrank (ended: their messages were dead-lettered). */
  readonly freed: readonly string[];
}

export interface ProjectorOptions {
  readonly store: EventStore;
  readonly sql: SqlClient;
  readonly queue: QueueSql;
  readonly channel: string;
  /** Tags this process's notifications so it can ignore its own. */
  readonly instanceId: string;
  readonly logger: Logger;
  readonly batchSize?: number;
  /**
   * The Postgres store's own NOTIFY channel, when the store is the SQL one. Its subscriptions
   * read only below the oldest running transaction and sleep until an append wakes them; our
   * batch transaction can hide events that way, so each batch nudges them at commit.
   */
  readonly storeChannel?: string | null;
  readonly onApplied: (batch: AppliedBatch) => void;
  /**
   * Outbox-written messages seen in the store, whoever sent them: a wake-up hint for receivers in
   * this process that needs no SQL, so a message reaches them even if its sender's NOTIFY never
   * went out (the sender died right after committing).
   */
  readonly onOutboxed?: (messages: readonly OutboxedMessage[]) => void;
}

/** A message whose row the outbox trigger wrote with its MessageSent. */
export interface OutboxedMessage {
  readonly messageId: string;
  readonly recipient: string;
}


const TERMINAL: Record<string, string> = { AgentCompleted: 'completed', AgentFailed: 'failed', AgentTerminated: 'terminated' };
/** A batch of only unrelated events moves the checkpoint at most this often. */
const IDLE_CHECKPOINT_EVERY = 1000;
/**
 * How long a batch whose only work is recipients' ends waits for more before it is applied. Each
 * apply is a round trip and a commit; applied as they came, ends cost 0.68 of the 7.4 round trips
 * of a 4-node workflow run one at a time (bench/workflow: .prof/loopc.ts counted queries). An end
 * dead-letters what its recipient had not taken and frees its inbox: nothing waits on that within
 * a few ms. A message, an ack or an outboxed row is applied at once, with whatever ends are held.
 */
const ENDS_LINGER_MS = 50;

const nextTurn = (): Promise<'idle'> => new Promise((resolve) => setImmediate(() => resolve('idle')));
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Splits a batch of recorded events into the statements the queue needs. Pure. From
 * `outboxSince` on, the outbox trigger wrote each `MessageSent`'s row and every ack updated its
 * row before `MessageAcked` was recorded, so only ends are left to apply.
 */
export function planBatch(
  events: readonly RecordedEvent[],
  log?: Logger,
  outboxSince: bigint | null = null,
): { messages: MessageToMaterialise[]; ended: RecipientEnded[]; acks: { recipient: string; messageId: string }[]; outboxed: OutboxedMessage[] } {
  const messages: MessageToMaterialise[] = [];
  const ended: RecipientEnded[] = [];
  const acks: { recipient: string; messageId: string }[] = [];
  const outboxed: OutboxedMessage[] = [];
  const seen = new Set<string>();
  for (const e of events) {
    const agentId = agentIdOfStream(e.streamId);
    if (!agentId) continue;
    if ((e.type === 'MessageSent' || e.type === 'MessageAcked') && outboxSince !== null && e.position >= outboxSince) {
      const sent = e.type === 'MessageSent' ? MessageSent.safeParse(e.data) : null;
      if (sent?.success) outboxed.push({ messageId: sent.data.messageId, recipient: sent.data.to });
      continue;
    }
    if (e.type === 'MessageSent') {
      const parsed = MessageSent.safeParse(e.data);
      if (!parsed.success) {
        log?.error({ agentId, stream: e.streamId, position: e.position.toString() }, 'unreadable MessageSent skipped');
        continue;
      }
      if (seen.has(parsed.data.messageId)) continue;
      seen.add(parsed.data.messageId);
      messages.push({
        messageId: parsed.data.messageId,
        sender: agentId,
        recipient: parsed.data.to,
        payload: parsed.data.payload ?? null,
        priority: parsed.data.priority,
        dedupeKey: parsed.data.dedupeKey,
        position: e.position,
        sentAt: e.metadata.at,
      });
    } else if (e.type === 'MessageAcked') {
      const parsed = MessageAcked.safeParse(e.data);
      if (parsed.success) acks.push({ recipient: agentId, messageId: parsed.data.messageId });
    } else if (TERMINAL[e.type]) {
      ended.push({ agentId, status: TERMINAL[e.type]!, position: e.position });
    }
  }
  return { messages, ended, acks, outboxed };
}

/** Whether a batch's only work is recipients' ends (ENDS_LINGER_MS). */
const onlyEnds = (plan: ReturnType<typeof planBatch>): boolean =>
  plan.ended.length > 0 && plan.messages.length === 0 && plan.acks.length === 0 && plan.outboxed.length === 0;

/**
 * Materialises the queue from `MessageSent` events: each batch of events, its rows and the
 * checkpoint commit in one transaction, so every event is applied exactly once across crashes
 * (and re-applying is harmless anyway: inserts are keyed by message id). The end of an agent
 * dead-letters what it had not taken. Each batch that made messages receivable sends one NOTIFY.
 */
export class MessageProjector {
  private subscription: Subscription | undefined;
  private loop: Promise<void> | undefined;
  private stopping = false;
  private stored = 0n;
  private applied = 0n;
  private sinceCheckpoint = 0;
  private readonly batchSize: number;
  /** Set before start() when the outbox trigger writes rows in this schema (see planBatch). */
  outboxSince: bigint | null = null;

  constructor(private readonly o: ProjectorOptions) {
    this.batchSize = o.batchSize ?? 500;
  }

  /** The position applied so far (this process's view). */
  get position(): bigint {
    return this.applied;
  }

  /** Wakes the store's subscriptions (a latency hint; harmless when nothing is new). */
  async nudge(): Promise<void> {
    if (this.o.storeChannel) await this.o.queue.notify(this.o.sql, this.o.storeChannel, '');
  }

  start(): void {
    if (this.loop) return;
    this.stopping = false;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await this.subscription?.close();
    await this.loop;
    this.loop = undefined;
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (!this.stopping) {
      try {
        this.stored = await this.o.queue.checkpoint(this.o.sql);
        this.applied = this.stored;
        this.sinceCheckpoint = 0;
        await this.follow();
        failures = 0;
      } catch (err) {
        await this.subscription?.close().catch(() => {});
        if (this.stopping) return;
        if (err instanceof CheckpointMoved) continue; // another process applied ahead: resume from its checkpoint
        failures++;
        this.o.logger.warn({ err: err instanceof Error ? err.message : String(err), failures }, 'message projection failed; retrying');
        await sleep(backoffMs(failures, { baseMs: 50, maxMs: 5000 }));
      }
    }
  }

  private async follow(): Promise<void> {
    const sub = this.o.store.subscribeToAll({ fromPosition: this.stored, streamPrefixes: [AGENT_STREAM_PREFIX] });
    this.subscription = sub;
    const it = sub[Symbol.asyncIterator]();
    const pull = (): Promise<IteratorResult<RecordedEvent>> => {
      const p = it.next();
      p.catch(() => undefined); // observed later; never an unhandled rejection meanwhile
      return p;
    };
    let next = pull();
    // Ends held back (ENDS_LINGER_MS), and when the first of them was read.
    let held: RecordedEvent[] = [];
    let heldSince = 0;
    try {
      while (!this.stopping) {
        const first = held.length === 0 ? await next : await Promise.race([next, sleep(heldSince + ENDS_LINGER_MS - Date.now()).then(() => 'due' as const)]);
        if (first === 'due') {
          await this.apply(held);
          held = [];
          continue;
        }
        if (first.done) {
          if (held.length > 0) await this.apply(held);
          return;
        }
        const batch: RecordedEvent[] = [...held, first.value];
        const holdingSince = held.length > 0 ? heldSince : Date.now();
        held = [];
        next = pull();
        let ended = false;
        // Take what the subscription already has in hand; stop at the first wait for I/O.
        while (batch.length < this.batchSize) {
          const r = await Promise.race([next, nextTurn()]);
          if (r === 'idle') break;
          if (r.done) {
            ended = true;
            break;
          }
          batch.push(r.value);
          next = pull();
        }
        const due = Date.now() - holdingSince >= ENDS_LINGER_MS;
        if (!ended && !due && batch.length < this.batchSize && onlyEnds(planBatch(batch, undefined, this.outboxSince))) {
          held = batch;
          heldSince = holdingSince;
          continue;
        }
        await this.apply(batch);
        if (ended) return;
      }
    } finally {
      await sub.close();
      // Let the generator settle (it returns once closed).
      await next.catch(() => undefined);
    }
  }

  private async apply(events: readonly RecordedEvent[]): Promise<void> {
    const plan = planBatch(events, this.o.logger, this.outboxSince);
    if (plan.outboxed.length > 0) this.o.onOutboxed?.(plan.outboxed);
    const last = events[events.length - 1]!.position;
    const relevant = plan.messages.length + plan.ended.length + plan.acks.length > 0;
    if (!relevant) {
      this.applied = last;
      this.sinceCheckpoint += events.length;
      if (this.sinceCheckpoint < IDLE_CHECKPOINT_EVERY) return;
    }
    // One call, one transaction: rows, ends, acks, checkpoint and the NOTIFYs commit together.
    const messages = await this.o.queue.applyBatch(this.o.sql, {
      expected: this.stored,
      to: last,
      messages: plan.messages,
      ended: plan.ended,
      acks: plan.acks,
      channel: this.o.channel,
      instanceId: this.o.instanceId,
      storeChannel: this.o.storeChannel ?? null,
    });
    const result: AppliedBatch = {
      messages,
      // A row the outbox wrote was announced by its sender already.
      woken: [...new Set(messages.filter((m) => m.inserted && m.state === 'pending').map((m) => m.recipient))],
      freed: plan.ended.map((e) => e.agentId),
    };
    this.stored = last;
    this.applied = last;
    this.sinceCheckpoint = 0;
    if (relevant) this.o.onApplied(result);
  }
}
