import { InvalidInput } from '../errors.js';

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

/** `MessagingOptions` with every default filled in and every bound checked. */
export type MessagingConfig = { readonly [K in keyof MessagingOptions]-?: number };

const DEFAULTS: MessagingConfig = {
  inboxLimit: 1000,
  sendTimeoutMs: 5000,
  visibilityTimeoutMs: 30_000,
  maxAttempts: 5,
  maxPayloadBytes: 256 * 1024,
  materialiseTimeoutMs: 10_000,
};

/** The least value each option accepts: only a send may be told not to wait at all. */
const MINIMUM: MessagingConfig = { inboxLimit: 1, sendTimeoutMs: 0, visibilityTimeoutMs: 1, maxAttempts: 1, maxPayloadBytes: 1, materialiseTimeoutMs: 1 };

/**
 * Fills in the defaults and refuses what is not a whole number in range, naming the option.
 *
 * @example
 * resolveMessagingOptions({ inboxLimit: 2 }).sendTimeoutMs; // 5000
 */
export function resolveMessagingOptions(options: MessagingOptions = {}): MessagingConfig {
  const resolved: Record<string, number> = {};
  for (const key of Object.keys(DEFAULTS) as (keyof MessagingConfig)[]) {
    const n = options[key] ?? DEFAULTS[key];
    if (!Number.isInteger(n) || n < MINIMUM[key]) throw new InvalidInput(`messaging.${key}`, `must be an integer >= ${MINIMUM[key]}`);
    resolved[key] = n;
  }
  return resolved as MessagingConfig;
}
