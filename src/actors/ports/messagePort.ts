/** The durable message queue as the runtime's tools see it (implemented in src/messaging). */
export interface ReceivedMessage {
  readonly messageId: string;
  readonly from: string;
  readonly payload: unknown;
  readonly priority: number;
  readonly attempt: number;
  /** When the sender's MessageSent was recorded. */
  readonly sentAt: Date;
}

export interface MessagePort {
  /** Validates and enqueues; the caller records MessageSent. Throws InboxFull, MessageTooLarge, ... */
  prepare(from: string, to: string, payload: unknown, options: { priority?: number; dedupeKey?: string }): Promise<{ messageId: string; priority: number; dedupeKey: string | null }>;
  receive(recipient: string, options: { max?: number; waitMs?: number }): Promise<ReceivedMessage[]>;
  ack(recipient: string, messageIds: readonly string[]): Promise<void>;
}
