/**
 * Durable agent-to-agent messages (issue 6). See docs/messaging.md.
 *
 * @example
 * const messaging = createMessaging({ runtime, store, sql, schema, logger, options: { inboxLimit: 500 } });
 * await messaging.start();
 */
export { createMessaging } from './messaging.js';
export type { Messaging, MessagingService, MessagingDeps, MessagingOptions, MessagingRuntime, PeekOptions, ReceiveOptions, SendOptions } from './messaging.js';
export type { DeadLetter, PeekedMessage } from './queueSql.js';
export { checkPayload, findNonJson } from './payload.js';
export { DEFAULT_PRIORITY } from './priority.js';
export { messagesChannel, messagingMigrations } from './schema.js';
