import type { DeadLetter } from '../../messaging/index.js';
import { renderTable } from './table.js';
import { plural } from './plural.js';
import { shortId } from './style.js';

/** A message as `messaging.peek` (attempts so far) or `messaging.receive` (this attempt) returns it. */
export interface InboxMessage {
  readonly messageId: string;
  readonly from: string;
  readonly payload: unknown;
  readonly priority: number;
  readonly sentAt: Date | string;
  readonly attempt?: number;
  readonly attempts?: number;
}

const PREVIEW = 60;

/** A payload on one line, cut to what a table column shows. */
function preview(payload: unknown): string {
  const text = JSON.stringify(payload) ?? String(payload);
  return text.length > PREVIEW ? `${text.slice(0, PREVIEW - 1)}…` : text;
}

/**
 * An inbox as a table, best first: id, sender, priority, when it was sent, the delivery attempt
 * and a preview of the payload (`--json` has the whole of each).
 *
 * @example
 * renderInbox(await messaging.peek(id), { claimed: false });
 * // ID             FROM           PRI  SENT AT              ATTEMPT  PAYLOAD
 * // 019fd27a…91aa  019fd278…8b2e    5  2026-12-04 05:57:11        0  {"text":"please review"}
 */
export function renderInbox(messages: readonly InboxMessage[], options: { claimed: boolean }): string {
  if (messages.length === 0) return options.claimed ? 'no messages to claim: the inbox is empty' : 'inbox is empty (--dead lists messages to it that will not be delivered)';
  const table = renderTable(messages, [
    { header: 'ID', value: (m) => shortId(m.messageId) },
    { header: 'FROM', value: (m) => shortId(m.from) },
    { header: 'PRI', value: (m) => m.priority, align: 'right' },
    { header: 'SENT AT', value: (m) => new Date(m.sentAt).toISOString().replace('T', ' ').slice(0, 19) },
    { header: 'ATTEMPT', value: (m) => m.attempt ?? m.attempts, align: 'right' },
    { header: 'PAYLOAD', value: (m) => preview(m.payload) },
  ]);
  const what = options.claimed
    ? `${plural(messages.length, 'message')} claimed (received and acknowledged: they have left the inbox)`
    : `${plural(messages.length, 'message')} pending, highest priority first; ATTEMPT counts deliveries so far (--claim takes them)`;
  return `${table}\n\n${what}; times in UTC, payloads cut to ${PREVIEW} characters (--json for all of it)`;
}

/** What a dead letter's row shows, of what `messaging.deadLetters` returns. */
export type DeadLetterRow = Pick<DeadLetter, 'messageId' | 'from' | 'payload' | 'attempts' | 'reason' | 'deadAt'>;

/**
 * An agent's dead letters, oldest first: id, sender, when and why it will not be delivered, the
 * deliveries tried and a preview of the payload.
 *
 * @example
 * renderDeadLetters(await messaging.deadLetters({ recipient: id }));
 * // ID             FROM           DEAD AT              REASON                 TRIED  PAYLOAD
 * // 019fd27a…91aa  019fd278…8b2e  2026-12-04 05:57:11  recipient terminated       0  {"text":"please review"}
 */
export function renderDeadLetters(letters: readonly DeadLetterRow[]): string {
  if (letters.length === 0) return 'no dead letters: every message to it was delivered or is still pending';
  const table = renderTable(letters, [
    { header: 'ID', value: (m) => shortId(m.messageId) },
    { header: 'FROM', value: (m) => shortId(m.from) },
    { header: 'DEAD AT', value: (m) => new Date(m.deadAt).toISOString().replace('T', ' ').slice(0, 19) },
    { header: 'REASON', value: (m) => m.reason },
    { header: 'TRIED', value: (m) => m.attempts, align: 'right' },
    { header: 'PAYLOAD', value: (m) => preview(m.payload) },
  ]);
  return `${table}\n\n${plural(letters.length, 'dead letter')}, oldest first; times in UTC, payloads cut to ${PREVIEW} characters (--json for all of it)`;
}
