import { z } from 'zod';
import { followSubscription, type EventFeeds } from '../events/eventFeeds.js';
import type { EventStore } from '../events/eventStore.js';
import type { RecordedEvent } from '../events/envelope.js';
import { toHistoryEvent, type HistoryEvent } from '../events/historyEvent.js';
import { revisionArg } from '../events/safeNumber.js';
import { parseRecorded } from '../events/upcast.js';
import { InvalidInput, NotFound } from '../errors.js';
import { parseInput } from '../validation.js';
import { AGENT_STREAM_PREFIX, agentStream } from './streams.js';

export interface AgentEventsOptions {
  /** The agent's first revision to yield (inclusive; default 0, its first event). */
  readonly fromRevision?: number | bigint;
  /**
   * Also every descendant's events, children included as they are spawned, all in global
   * position order; the loop then ends when the whole subtree has ended. With `fromRevision`,
   * the subtree's events from the agent's event at that revision on.
   */
  readonly subtree?: boolean;
  /** Ends the loop (it returns) when aborted, even while it waits for the next event. */
  readonly signal?: AbortSignal;
}

export const AgentEventsOptionsSchema = z.object({
  fromRevision: z.union([z.number(), z.bigint()]).optional(),
  subtree: z.boolean().optional(),
  signal: z.instanceof(AbortSignal).optional(),
}).strict();

/** The events that end an agent: nothing of its own happens after them but worktree clean-up. */
const TERMINAL = new Set(['AgentCompleted', 'AgentFailed', 'AgentTerminated']);

/**
 * One agent's events (or its subtree's) from a revision, then live, ending with its end.
 *
 * Replay and live meet at the store's head position, read first: every event at or below it is
 * readable at once (the Postgres store's positions order transactions, and the head is read
 * below the oldest one still open), and every later event arrives on a subscription from it. So
 * the replay reads the streams up to the head and the subscription delivers the rest: no gap
 * and no duplicate at the switch, whoever writes, in this process or another.
 *
 * @example
 * for await (const e of agentEvents(feeds, lead.id, { subtree: true })) console.log(e.streamId, e.type);
 */
export function agentEvents(feeds: EventFeeds, agentId: string, options: unknown = {}): AsyncGenerator<HistoryEvent, void, undefined> {
  const o = parseInput(AgentEventsOptionsSchema, options ?? {}, 'events');
  const fromRevision = o.fromRevision === undefined ? 0n : revisionArg(o.fromRevision, 'events.fromRevision');
  if (fromRevision < 0n) throw new InvalidInput('events.fromRevision', 'must be 0 or more');
  return follow(feeds, new Watched(agentId, fromRevision, o.subtree === true), o.signal);
}

/**
 * Which streams a loop yields and when it ends: the agent, and with `subtree` each child its
 * members' ChildSpawned names (recorded before the child's first event, in the same commit).
 */
class Watched {
  readonly members = new Set<string>();
  private readonly ended = new Set<string>();
  /** Set once the agent's event at `fromRevision` has gone by: from then on, events are yielded. */
  private started = false;
  /** Position of the last event handled: nothing at or below it is handled twice. */
  last = -1n;

  constructor(
    readonly rootId: string,
    private readonly fromRevision: bigint,
    readonly subtree: boolean,
  ) {
    this.members.add(agentStream(rootId));
  }

  /** The event to yield, if any; notes the children it names and the ends it records. */
  take(e: RecordedEvent): HistoryEvent | null {
    if (e.position <= this.last || !this.members.has(e.streamId)) return null;
    this.last = e.position;
    const event = toHistoryEvent(parseRecorded(e));
    if (this.subtree && event.type === 'ChildSpawned') this.members.add(agentStream(event.data.childId));
    if (TERMINAL.has(event.type)) this.ended.add(e.streamId);
    if (!this.started && e.streamId === agentStream(this.rootId) && e.revision >= this.fromRevision) this.started = true;
    return this.started ? event : null;
  }

  /** Every member has recorded its end (no ended agent spawns, so none can join later). */
  get done(): boolean {
    return this.ended.size === this.members.size;
  }
}

async function* follow(feeds: EventFeeds, w: Watched, signal: AbortSignal | undefined): AsyncGenerator<HistoryEvent, void, undefined> {
  try {
    // Read before the streams: an event at or below it is in the replay, one above on the subscription.
    const head = await feeds.store.headPosition();
    for (const e of await replay(feeds.store, w, head)) {
      if (signal?.aborted) return;
      const event = w.take(e);
      if (event) yield event;
      if (w.done) return;
    }
    w.last = head;
    if (signal?.aborted) return;
    const sub = feeds.subscribe({ fromPosition: head, streamPrefixes: [w.subtree ? AGENT_STREAM_PREFIX : agentStream(w.rootId)] });
    if (!sub) return;
    yield* followSubscription(sub, signal, (e) => w.take(e), () => w.done);
  } catch (err) {
    if (!feeds.endedByClose(err)) throw err;
  }
}

/**
 * The watched streams' events at or below `head`, in position order: the agent's, then a level
 * of children at a time, as their parents' ChildSpawned events name them.
 */
async function replay(store: EventStore, w: Watched, head: bigint): Promise<RecordedEvent[]> {
  const root = await store.readStream(agentStream(w.rootId));
  if (root.length === 0) throw new NotFound('agent', w.rootId);
  const out: RecordedEvent[] = [];
  let level: RecordedEvent[][] = [root];
  while (level.length > 0) {
    const children: string[] = [];
    for (const events of level) {
      for (const e of events) {
        if (e.position > head) break;
        out.push(e);
        if (w.subtree && e.type === 'ChildSpawned') children.push(agentStream(childIdOf(e)));
      }
    }
    level = children.length > 0 ? await readStreams(store, children) : [];
  }
  return out.sort((a, b) => (a.position < b.position ? -1 : a.position > b.position ? 1 : 0));
}

/** The child a ChildSpawned names, validated as every event is (parseRecorded). */
function childIdOf(e: RecordedEvent): string {
  const parsed = parseRecorded(e);
  if (parsed.type !== 'ChildSpawned') throw new InvalidInput(`event ${e.streamId}@${e.revision}.type`, 'expected ChildSpawned');
  return parsed.data.childId;
}

/** Many streams whole: one query where the store can, else one read each. */
async function readStreams(store: EventStore, streamIds: readonly string[]): Promise<RecordedEvent[][]> {
  if (store.readStreams) {
    const got = await store.readStreams(streamIds.map((streamId) => ({ streamId, from: 0n })));
    return streamIds.map((id) => got.get(id) ?? []);
  }
  return Promise.all(streamIds.map((id) => store.readStream(id)));
}
