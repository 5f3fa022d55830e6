import type { DomainEvent } from '../../events/catalogue.js';
import type { Attachment } from '../../events/eventStore.js';

/**
 * Payloads decided with an event and named by it (a model request, staged as a blob), kept
 * beside the event object until the append that stores the event carries them in its commit.
 * A decision is taken again after a conflict, so nothing here outlives its events.
 */
const attached = new WeakMap<DomainEvent, Attachment>();

/** `event`, with `a` to be stored in the same commit. */
export function attach<E extends DomainEvent>(event: E, a: Attachment): E {
  attached.set(event, a);
  return event;
}

/** What the events carry, for their append's `attachments` (none: undefined). */
export function attachmentsOf(events: readonly DomainEvent[]): { readonly attachments?: readonly Attachment[] } {
  const out = events.flatMap((e) => {
    const a = attached.get(e);
    return a ? [...(a.parts ?? []), a] : [];
  });
  return out.length > 0 ? { attachments: out } : {};
}
