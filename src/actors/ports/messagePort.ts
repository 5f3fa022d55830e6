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
  /**
   * Sends as a handle does (the same function): admits the message to the recipient's inbox,
   * records MessageSent in the sender's stream, wakes the receiver. Throws InboxFull,
   * MessageTooLarge, RecipientUnavailable, ...
   */
  send(from: string, to: string, payload: unknown, options?: { priority?: number; dedupeKey?: string }): Promise<{ messageId: string }>;
  /** Claims messages without recording MessageReceived: the caller records it in its own step. */
  receive(recipient: string, options: { max?: number; waitMs?: number }): Promise<ReceivedMessage[]>;
  ack(recipient: string, messageIds: readonly string[]): Promise<void>;
}
