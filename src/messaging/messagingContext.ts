import type { DomainEvent } from '../events/catalogue.js';
import { InvalidInput } from '../errors.js';
import type { Logger } from '../actors/ports/runtimePorts.js';
import type { AgentSnapshot } from '../actors/replay.js';
import type { SqlClient } from '../infra/sql/sqlClient.js';
import type { KeyedSignal } from '../infra/signals.js';
import type { InboxGate } from './inboxGate.js';
import type { MessagingConfig } from './messagingOptions.js';
import type { QueueSql } from './queueSql.js';

/** What messaging needs of the actor runtime (AgentRuntime has it). */
export interface MessagingRuntime {
  execute(id: string, decide: (snapshot: AgentSnapshot) => DomainEvent[] | Promise<DomainEvent[]>): Promise<DomainEvent[]>;
  state(id: string): Promise<{ readonly status: string }>;
}

/** Whether the queue has been started and not yet stopped. */
export class MessagingLifecycle {
  started = false;
  stopped = false;

  /** Refuses sends, receives and acks outside start()…stop(). */
  assertRunning(): void {
    if (!this.started || this.stopped) throw new InvalidInput('messaging', this.stopped ? 'messaging has stopped' : 'messaging has not been started');
  }
}

/**
 * What the parts of messaging (sending, receiving, the wake-ups) share: built once by
 * `createMessaging`, passed to each.
 */
export interface MessagingContext {
  readonly cfg: MessagingConfig;
  readonly runtime: MessagingRuntime;
  /** Where the queue tables live. */
  readonly sql: SqlClient;
  readonly queue: QueueSql;
  readonly log: Logger;
  /** Milliseconds since the epoch, read from the injected clock: deadlines and reservation expiry. */
  now(): number;
  /** Sends this process admitted whose rows are not counted by the database yet. */
  readonly gate: InboxGate;
  /** Receivers wait here for new messages, per recipient. */
  readonly arrivals: KeyedSignal;
  /** Full-inbox senders wait here for room, per recipient. */
  readonly capacity: KeyedSignal;
  readonly lifecycle: MessagingLifecycle;
}
