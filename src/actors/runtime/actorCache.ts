import type { DomainEvent } from '../../events/catalogue.js';
import type { RecordedEvent } from '../../events/envelope.js';
import { parseRecorded, type ParsedEvent } from '../../events/upcast.js';
import { NotFound } from '../../errors.js';
import { AGENT_MACHINE_VERSION, isTerminalStatus, statusOf } from '../agentMachine.js';
import { LiveActor } from '../liveActor.js';
import { fold, foldResting, restoreSnapshot, type AgentSnapshot } from '../replay.js';
import type { StoredSnapshot } from '../ports/runtimePorts.js';
import { agentStream } from '../streams.js';
import type { RuntimeContext } from './runtimeContext.js';

/** The live actor for `id`, loaded from its snapshot and stream if needed. */
export async function loadActor(rt: RuntimeContext, id: string): Promise<LiveActor> {
  const cached = rt.actors.get(id);
  if (cached) return cached;
  // A child its parent already lists may be between the parent's append and its own first one.
  const opening = rt.opening.get(id);
  if (opening) {
    await opening.catch(() => {});
    // Opened here: cached as it was written (a parent's awaitChildren reloaded every new child).
    const opened = rt.actors.get(id);
    if (opened) return opened;
  }
  let pending = rt.loading.get(id);
  if (!pending) {
    pending = loadFromStore(rt, id).finally(() => rt.loading.delete(id));
    rt.loading.set(id, pending);
  }
  return pending;
}

async function loadFromStore(rt: RuntimeContext, id: string): Promise<LiveActor> {
  const stream = agentStream(id);
  const recent = rt.recentlyEnded.get(id);
  // Whatever was written after it (another process, a late event) is in the tail read below.
  const base = recent ? { snapshot: recent.snapshot, from: recent.revision + 1n } : snapshotBase(await rt.deps.snapshots.load(stream));
  const from = base?.from ?? 0n;
  const recorded = await rt.deps.store.readStream(stream, { from });
  if (!base && recorded.length === 0) throw new NotFound('agent', id);
  // A stream read to its end holds whole appends, so the fast fold applies (recovery's too).
  const snapshot = foldResting(recorded.map((r) => toDomain(parseRecorded(r))), base?.snapshot);
  const actor = liveActor(rt, id, snapshot, recorded, from);
  const existing = rt.actors.get(id);
  if (existing) return existing;
  rt.actors.set(id, actor);
  return actor;
}

/** A stored snapshot to fold on from: of this machine version and readable, else none (fold from 0). */
function snapshotBase(snap: StoredSnapshot | null | undefined): { snapshot: AgentSnapshot; from: bigint } | undefined {
  if (!snap || snap.machineVersion !== AGENT_MACHINE_VERSION) return undefined;
  try {
    return { snapshot: restoreSnapshot(snap.state as never), from: snap.revision + 1n };
  } catch {
    return undefined; // an unreadable snapshot is only an optimisation
  }
}

/** The cached copy of a loaded actor: `recorded` is what was folded on top of the base read up to `from`. */
function liveActor(rt: RuntimeContext, id: string, snapshot: AgentSnapshot, recorded: readonly RecordedEvent[], from: bigint): LiveActor {
  const revision = recorded.length > 0 ? recorded[recorded.length - 1]!.revision : from - 1n;
  const actor = new LiveActor(id, adopt(rt, snapshot), revision);
  actor.eventsSinceSnapshot = recorded.length;
  actor.inheritedCall = snapshot.context.pendingCall?.callId ?? null;
  return actor;
}

/**
 * Loads many actors with two queries (their snapshots, then every stream's tail) instead of
 * two per actor; actors already cached or missing are left to the one-by-one path.
 */
export async function preload(rt: RuntimeContext, ids: readonly string[]): Promise<void> {
  const todo = ids.filter((id) => !rt.actors.has(id));
  if (todo.length === 0) return;
  const snaps = await rt.deps.snapshots.loadMany(todo.map(agentStream));
  const bases = new Map(todo.map((id) => [id, snapshotBase(snaps.get(agentStream(id)))] as const));
  const requests = todo.map((id) => ({ streamId: agentStream(id), from: bases.get(id)?.from ?? 0n }));
  const tails = await readTails(rt, requests);
  for (const id of todo) {
    const recorded = tails.get(agentStream(id)) ?? [];
    const base = bases.get(id);
    if (!base && recorded.length === 0) continue; // missing: handled by the caller
    const events = recorded.map((r) => toDomain(parseRecorded(r)));
    const snapshot = events.length === 0 && base ? base.snapshot : foldResting(events, base?.snapshot);
    if (rt.actors.has(id)) continue;
    rt.actors.set(id, liveActor(rt, id, snapshot, recorded, base?.from ?? 0n));
  }
}

/**
 * XState resolves action implementations through the snapshot's own machine, so a snapshot
 * folded by the effect-free machine is re-homed on the one whose effects the runtime supplies.
 */
export function adopt(rt: RuntimeContext, s: AgentSnapshot): AgentSnapshot {
  return rt.effectful.resolveState({ value: s.value as never, context: s.context });
}

/** Many streams' tails, each from its own revision: one query where the store can, else one read each. */
export async function readTails(rt: RuntimeContext, requests: ReadonlyArray<{ streamId: string; from: bigint }>): Promise<Map<string, RecordedEvent[]>> {
  if (rt.deps.store.readStreams) return rt.deps.store.readStreams(requests);
  return new Map(await Promise.all(requests.map(async (r) => [r.streamId, await rt.deps.store.readStream(r.streamId, { from: r.from })] as const)));
}

/** Folds the stream's tail into the cached copy; only from inside the actor's mailbox. */
export async function foldTail(rt: RuntimeContext, actor: LiveActor): Promise<boolean> {
  const tail = await rt.deps.store.readStream(agentStream(actor.id), { from: actor.revision + 1n });
  if (tail.length === 0) return false;
  actor.snapshot = adopt(rt, fold(tail.map((r) => toDomain(parseRecorded(r))), actor.snapshot));
  actor.revision = tail[tail.length - 1]!.revision;
  actor.changed();
  return true;
}

/** Reads what the stream holds past the cached revision, on the actor's mailbox; true if there was any. */
export function catchUp(rt: RuntimeContext, actor: LiveActor): Promise<boolean> {
  return actor.enqueue(() => foldTail(rt, actor));
}

/**
 * The actor as its stream stands now. With several workers, other processes write to actors
 * cached here (a child's end, a parent's run request) and the store subscription brings those
 * writes in a moment later; a read must not answer from before them.
 */
export async function currentActor(rt: RuntimeContext, id: string): Promise<LiveActor> {
  // A load started by this call reads the stream as it stands; a cached copy or a load
  // already under way may be older than the latest write.
  const mayLag = rt.actors.has(id) || rt.loading.has(id);
  const actor = await loadActor(rt, id);
  if (!rt.worker || !mayLag) return actor; // the only writer, or just read from the stream
  // What it brings in is then not news to the subscription: react to it here.
  if (await catchUp(rt, actor)) rt.reconcileSoon(id);
  return actor;
}

/**
 * Bounded memory: an ended actor loaded again (a state() call, a late event, a parent checking
 * its child) leaves the cache once nothing is using it; the next use reloads it from its
 * snapshot and stream.
 */
export function evictIfEnded(rt: RuntimeContext, actor: LiveActor): void {
  if (rt.actors.get(actor.id) !== actor || actor.busy > 0 || actor.inflight.ending) return;
  if (!isTerminalStatus(statusOf(actor.snapshot.value))) return;
  dropEnded(rt, actor);
  actor.changed();
}

/** How many ended actors' states `recentlyEnded` keeps (a few MB at most). */
const RECENTLY_ENDED = 1000;

/** Drops an ended actor from the live set, remembering its state for a cheap reload. */
export function dropEnded(rt: RuntimeContext, actor: LiveActor): void {
  if (rt.actors.get(actor.id) !== actor) return;
  rt.actors.delete(actor.id);
  rt.recentlyEnded.delete(actor.id);
  rt.recentlyEnded.set(actor.id, { snapshot: actor.snapshot, revision: actor.revision });
  if (rt.recentlyEnded.size > RECENTLY_ENDED) rt.recentlyEnded.delete(rt.recentlyEnded.keys().next().value!);
}

export const toDomain = (e: ParsedEvent): DomainEvent => ({ type: e.type, data: e.data }) as DomainEvent;
