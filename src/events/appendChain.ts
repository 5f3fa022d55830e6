import type { AppendOutcome, EventStore, StreamAppend } from './eventStore.js';

/** The outcome of a chained append that was not tried: the one before it was not stored. */
export class NotAppended extends Error {
  constructor(readonly streamId: string) {
    super(`not appended to ${streamId}: the append before it in the chain was not stored`);
    this.name = 'NotAppended';
  }
}

/** A chained append's outcome, or null when it was not sent (the one before it was not stored). */
export const sentOrNull = (o: AppendOutcome): AppendOutcome | null => (!o.ok && o.error instanceof NotAppended ? null : o);

/**
 * Appends in order, each after the first only if the one before it was stored (or already was):
 * in one round trip and one commit where the store can (`EventStore.appendChain`), else one by
 * one, stopping at the first refusal. One outcome per append.
 *
 * @example
 * const [parent, child] = await appendChain(store, [{ streamId: 'agent-p', events, expectedRevision: 4n }, { streamId: 'agent-c', events: opening, expectedRevision: 'no_stream' }]);
 */
export async function appendChain(store: EventStore, appends: readonly StreamAppend[]): Promise<AppendOutcome[]> {
  if (store.appendChain) return store.appendChain(appends);
  const out: AppendOutcome[] = [];
  for (const a of appends) {
    if (out.length > 0 && !out[out.length - 1]!.ok) {
      out.push({ ok: false, error: new NotAppended(a.streamId) });
      continue;
    }
    out.push(await store.append(a.streamId, a.events, { expectedRevision: a.expectedRevision, ...(a.attachments ? { attachments: a.attachments } : {}) }).then((value) => ({ ok: true as const, value }), (error: unknown) => ({ ok: false as const, error })));
  }
  return out;
}
