import type { EventStore } from '../../src/events/eventStore.js';
import { StoreUnavailable } from '../../src/errors.js';

/**
 * A store that accepts `limit` appends, then behaves like a dead process: nothing more is written.
 * A chained append (a parent's spawn with its child's opening) is one commit on Postgres, so one
 * append here; `chains: false` stands for an adapter without them (EventStoreDB), where the two
 * are separate appends and a crash can come between them.
 */
export function dyingStore(inner: EventStore, limit: number, shouldDie: (streamId: string, types: string[]) => boolean = () => true, options: { chains?: boolean } = {}): EventStore & { appends: number; dead: boolean } {
  /** Throws as a dead process would, unless this append (all of a chain: one commit) may go. */
  const mayAppend = (appends: ReadonlyArray<{ streamId: string; events: ReadonlyArray<{ type: string }> }>): void => {
    if (s.dead || (s.appends >= limit && appends.some((a) => shouldDie(a.streamId, a.events.map((e) => e.type))))) {
      s.dead = true;
      throw new StoreUnavailable('injected crash');
    }
    s.appends++;
  };
  const s = {
    kind: inner.kind,
    // The model request rides in the commit of the append naming it: a crash after that commit
    // leaves recovery (a fresh process, no cache) the request to read back.
    ...(inner.storesAttachments ? { storesAttachments: true } : {}),
    appends: 0,
    dead: false,
    async append(streamId: string, events: Parameters<EventStore['append']>[1], opts: Parameters<EventStore['append']>[2]) {
      mayAppend([{ streamId, events }]);
      return inner.append(streamId, events, opts);
    },
    ...(options.chains === false ? {} : {
      async appendChain(appends: Parameters<NonNullable<EventStore['appendChain']>>[0]) {
        mayAppend(appends);
        return inner.appendChain!(appends);
      },
    }),
    readStream: inner.readStream.bind(inner),
    readAll: inner.readAll.bind(inner),
    subscribeToAll: inner.subscribeToAll.bind(inner),
    headPosition: inner.headPosition.bind(inner),
    close: inner.close.bind(inner),
  };
  return s;
}
