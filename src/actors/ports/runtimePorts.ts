import type { Attachment } from '../../events/eventStore.js';
/**
 * Ports the agent runtime needs besides the event store and the model. Postgres/PGlite
 * implementations live in src/infra/postgres; tests may use them directly.
 */

export interface StoredSnapshot {
  readonly streamId: string;
  readonly revision: bigint;
  readonly machineVersion: number;
  readonly state: unknown;
}

export interface SnapshotStore {
  load(streamId: string): Promise<StoredSnapshot | null>;
  loadMany(streamIds: readonly string[]): Promise<Map<string, StoredSnapshot>>;
  save(snapshot: StoredSnapshot): Promise<void>;
}

export interface ActorIndexEntry {
  readonly agentId: string;
  readonly parentId: string | null;
  readonly rootId: string;
  readonly status: 'live' | 'ended';
}

/**
 * Which agents exist and which are still live: written before an agent's stream opens and when
 * it ends, so recovery finds every live actor without scanning the whole store. It also holds
 * the lease that makes one worker the only host of a live actor.
 */
export interface ActorIndex {
  /**
   * True when the event store's own appends write the entries (the same Postgres schema): an
   * agent's is written with its AgentSpawned, born leased to the owner its metadata's `leaseTo`
   * names. The runtime then registers none. An append can end an entry too: the one an event's
   * metadata `settles` names (a parent's ChildFinished names the child), for an ending with
   * nothing left to do after its commit; the runtime ends every
   * other entry (markEnded).
   */
  readonly followsEvents: boolean;
  /**
   * Records a new live actor. With `lease`, the entry is born leased to that owner, so no other
   * worker can claim it in the moment between this and the actor's first event. True when this
   * call wrote the entry (with `lease`: the owner holds it); false when it was there already.
   */
  register(entry: Omit<ActorIndexEntry, 'status'>, lease?: { readonly owner: string; readonly ttlMs: number }): Promise<boolean>;
  markEnded(agentId: string): Promise<void>;
  /** Forget an entry whose stream never got written (a spawn that failed before its first append). */
  forget(agentId: string): Promise<void>;
  listLive(): Promise<ActorIndexEntry[]>;
  get(agentId: string): Promise<ActorIndexEntry | null>;
  /**
   * Take or renew leases for `ids` as `owner` until now + ttl; returns the ids this owner now
   * holds. Never waits for an entry another writer is changing: one of the owner's own that is
   * counts as held, renewed at the next call.
   */
  acquireLeases(owner: string, ids: readonly string[], ttlMs: number): Promise<string[]>;
  releaseLeases(owner: string, ids?: readonly string[]): Promise<void>;
  /**
   * Live actors with no lease or an expired one; with `within`, only those in the subtrees of
   * these agents (the agents themselves included).
   */
  listUnleased(limit: number, within?: readonly string[]): Promise<string[]>;
  /** The owners holding leases on live actors now. */
  leaseOwners(): Promise<string[]>;
  /** Who holds a live lease on each of `agentIds` now; an agent nobody holds (or whose lease lapsed) is absent. */
  leaseHolders(agentIds: readonly string[]): Promise<Map<string, string>>;
}

/** Content-addressed storage for large payloads (prompts, replies, file contents). */
export interface BlobStore {
  /** Stores the JSON value once; returns `sha256:<hex>`. */
  put(value: unknown): Promise<string>;
  /**
   * The value's ref and JSON text as stored (with `parts`: what a model request names apart, blobParts.ts),
   * without storing it: for an append that stores it in its own commit (an event store that
   * `storesAttachments`). Readable here at once (`get`).
   */
  stage(value: unknown): Attachment;
  /**
   * The append that carried these staged payloads committed: they are in the table now, and a
   * later `stage` leaves out the parts among them instead of sending them with every turn.
   */
  stored(attachments: readonly Attachment[]): void;
  get(ref: string): Promise<unknown>;
}

export interface Clock {
  now(): Date;
}

export interface IdGenerator {
  /** A fresh uuid. */
  uuid(): string;
}

/** The logging calls cadre makes (pino's shape). */
export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  child(bindings: Record<string, unknown>): Logger;
}

export const silentLogger: Logger = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
  child: () => silentLogger,
};
