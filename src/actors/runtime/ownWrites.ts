import type { AppendOptions, AppendOutcome, StreamAppend } from '../../events/eventStore.js';
import type { AppendResult, EventToAppend } from '../../events/envelope.js';
import { appendChain } from '../../events/appendChain.js';
import { AGENT_STREAM_PREFIX } from '../streams.js';
import type { RuntimeContext } from './runtimeContext.js';

/** Past this many remembered ids (a subscription that stopped delivering) they are forgotten: each then costs a refresh, as before. */
const MAX_REMEMBERED = 100_000;

type State = 'sent' | 'stored' | 'seen';

/**
 * The events this process appended to agent streams, as worker mode's store subscription meets
 * them: a write of its own is already in the cached actor (the writer keeps the state it decided,
 * or the parent takes the record a child stored), so it needs no refresh. Every one refreshed the
 * actor before: a read of its stream's tail that found nothing new, or folded what the writer was
 * about to take, and a turn of its mailbox. With 50 workflows in flight that was 0.64 reads per
 * run (.prof/agg.ts, 600 runs: 446 refreshes, every one of them of this process's own writes).
 *
 * An id is remembered from before its append is sent (the subscription may deliver it before the
 * append's answer comes back) until the subscription delivers it. An append that was refused
 * forgets its ids; one whose outcome is unknown (the connection dropped) too, and if the
 * subscription delivered one of its events meanwhile its stream is refreshed after all.
 */
export class OwnWrites {
  private readonly ids = new Map<string, { state: State; streamId: string }>();

  constructor(private readonly missed: (streamId: string) => void) {}

  /** The subscription delivered `eventId`: true if this process wrote it, so it needs no refresh. */
  delivered(eventId: string): boolean {
    const own = this.ids.get(eventId);
    if (!own) return false;
    if (own.state === 'stored') this.ids.delete(eventId);
    else own.state = 'seen';
    return true;
  }

  sending(appends: readonly StreamAppend[]): void {
    if (this.ids.size > MAX_REMEMBERED) this.ids.clear();
    for (const a of appends) {
      if (!a.streamId.startsWith(AGENT_STREAM_PREFIX)) continue; // the subscription follows agent streams only
      for (const e of a.events) this.ids.set(e.id, { state: 'sent', streamId: a.streamId });
    }
  }

  /** Each append's outcome (undefined: unknown, the call failed as a whole). */
  settled(appends: readonly StreamAppend[], outcomes: readonly (AppendOutcome | undefined)[]): void {
    appends.forEach((a, i) => {
      const o = outcomes[i];
      const stored = o?.ok === true;
      // Already stored by an earlier try: the subscription may have delivered it before this one.
      const idempotent = o?.ok === true && o.value.idempotent;
      let seen = false;
      for (const e of a.events) {
        const own = this.ids.get(e.id);
        if (!own) continue;
        if (own.state === 'seen') {
          this.ids.delete(e.id);
          seen = true;
        } else if (stored && !idempotent) own.state = 'stored';
        else this.ids.delete(e.id);
      }
      // Delivered, yet not known stored by this append (its answer was lost, or another append
      // holds the same ids): what the subscription saw is looked at as any other process's write.
      if (seen && !stored) this.missed(a.streamId);
    });
  }
}

/** `store.append` of the runtime's own decision: its events known to the subscription as this process's. */
export async function appendOwn(rt: RuntimeContext, streamId: string, events: readonly EventToAppend[], opts: AppendOptions): Promise<AppendResult> {
  const own = rt.ownWrites;
  const appends = [{ streamId, events, expectedRevision: opts.expectedRevision }];
  own?.sending(appends);
  try {
    const value = await rt.deps.store.append(streamId, events, opts);
    own?.settled(appends, [{ ok: true, value }]);
    return value;
  } catch (error) {
    own?.settled(appends, [{ ok: false, error }]);
    throw error;
  }
}

/** `appendChain` of the runtime's own appends, likewise. */
export async function appendChainOwn(rt: RuntimeContext, appends: readonly StreamAppend[]): Promise<AppendOutcome[]> {
  const own = rt.ownWrites;
  own?.sending(appends);
  try {
    const outcomes = await appendChain(rt.deps.store, appends);
    own?.settled(appends, outcomes);
    return outcomes;
  } catch (error) {
    own?.settled(appends, []);
    throw error;
  }
}
