import { eventSchemas, type DomainEvent } from '../../events/catalogue.js';
import { pureTransition } from '../pureTransition.js';
import { withoutSecrets } from './callerSecrets.js';
import { withinDeadline } from '../deadline.js';
import type { EventToAppend } from '../../events/envelope.js';
import { leanMetadata } from '../../events/metadata.js';
import type { AppendOutcome, StreamAppend } from '../../events/eventStore.js';
import { sentOrNull } from '../../events/appendChain.js';
import { InvalidTransition, isWrongExpectedRevision } from '../../errors.js';
import type { AgentContext } from '../agentContext.js';
import { AGENT_MACHINE_VERSION } from '../agentMachine.js';
import type { LiveActor } from '../liveActor.js';
import { persistable, type AgentSnapshot } from '../replay.js';
import { agentStream } from '../streams.js';
import { foldTail, loadActor } from './actorCache.js';
import { parentRecordAlong, settlesOwnEntry, settling, settlingChild } from './parentRecord.js';
import { attachmentsOf } from './attachments.js';
import { appendChainOwn, appendOwn } from './ownWrites.js';
import { track, type RuntimeContext } from './runtimeContext.js';
import { backoffMs } from '../../infra/backoff.js';

export interface ExecuteOptions {
  readonly causationId?: string;
  /**
   * Other streams' appends decided on the actor's state after this decision (a child's opening;
   * a fork's subtree), stored in the same round trip and commit right after it, in order, and
   * only if it was stored. Not asked for when the decision was cut at the agent's deadline
   * (deadline.ts): what it opens was decided with what was cut.
   */
  readonly alongside?: (next: AgentSnapshot) => Promise<Alongside | readonly Alongside[]>;
  /**
   * An ended child with nothing left after its parent's record of it (no worktree): the record's
   * ChildFinished also ends the child's actor-index entry (metadata `settles`), as the record a
   * child takes along does, and the child's ending skips `markEnded`: a statement and a commit.
   */
  readonly settlesChild?: LiveActor;
}

/** An append that rides with a decision (`ExecuteOptions.alongside`). */
export interface Alongside {
  readonly append: StreamAppend;
  /** Once: the append's outcome, or null when it was not sent (the decision was refused or decided again). */
  settle(outcome: AppendOutcome | null): Promise<void>;
}

/** What a command decides: the events to store, given the actor's current state. */
export type Decide = (snapshot: AgentSnapshot) => DomainEvent[] | Promise<DomainEvent[]>;

/**
 * Conflicts a command may lose before it fails. Each conflict means another writer's append won,
 * so progress is made; a writer with a queue of commands for the same actor can win many times in
 * a row, hence the generous bound and the growing, jittered pause between tries.
 */
const MAX_CONFLICT_RETRIES = 100;

/**
 * The write path. Runs a decider against the actor's current state on its mailbox; each event
 * must be accepted by the machine's pure `transition()`; the batch is appended with the actor's
 * revision as the expected revision; only then is the snapshot kept and the named effects run.
 * A concurrency conflict folds in what the other writer stored and decides again, on the same
 * copy: its in-flight effects (a model call, running tools, the deadline timer) stay known, so
 * reacting to the new state never starts them twice.
 */
export async function execute(rt: RuntimeContext, id: string, decide: Decide, opts: ExecuteOptions = {}): Promise<DomainEvent[]> {
  for (;;) {
    const actor = await loadActor(rt, id);
    let conflicts = 0;
    try {
      const stored = await actor.enqueue(async () => {
        for (;;) {
          if (rt.actors.get(id) !== actor) throw new StaleActor();
          // The decision's time, taken before it: its events are recorded at it, and it is what
          // the deadline is checked against, so nothing that starts work is recorded at a time
          // past the deadline. Stamped after the decision, a start decided with its deadline
          // (runStart.ts) was recorded up to 108 ms past it under load (a new user's try).
          const decidedAt = rt.deps.clock.now();
          const decided = withoutSecrets(rt, await decide(actor.snapshot));
          if (decided.length === 0) return decided;
          // Past its deadline an agent records what was done and times out instead of starting more.
          const cut = withinDeadline(actor.snapshot.context, decided, decidedAt, rt.deps.config.defaultTimeoutMs);
          const events = cut ?? decided;
          let next = actor.snapshot;
          const actions: Array<{ exec?: (...a: never[]) => unknown; info?: unknown; params?: unknown }> = [];
          for (const e of events) {
            if (!next.can(e)) throw new InvalidTransition(id, JSON.stringify(next.value), e.type);
            const [after, acts] = pureTransition(rt.effectful, next, e);
            next = after;
            actions.push(...(acts as typeof actions));
          }
          const settlesOwn = settlesOwnEntry(rt, next);
          const envelopes = events.map((e) => envelope(rt, next.context, e, decidedAt, opts.causationId));
          if (settlesOwn) envelopes.push(settling(rt, envelopes.pop()!, id));
          const childSettled = opts.settlesChild ? settlingChild(rt, events, envelopes, opts.settlesChild.id, settlesOwn) : false;
          // A spawn's child opening, or an ending's record in the parent: in the same commit.
          // A decision cut at its deadline opens nothing of what it had decided to (`cut`).
          const riding = opts.alongside ? (cut ? null : await opts.alongside(next)) : await parentRecordAlong(rt, actor, next, decidedAt, (c, e, causation) => envelope(rt, c, e, decidedAt, causation));
          const along: readonly Alongside[] = riding === null ? [] : 'append' in riding ? [riding] : riding;
          const attached = attachmentsOf(events);
          let res;
          let alongOutcomes: readonly (AppendOutcome | null)[] = [];
          try {
            if (along.length > 0) {
              const [mine, ...theirs] = await appendChainOwn(rt, [{ streamId: agentStream(id), events: envelopes, expectedRevision: actor.revision, ...attached }, ...along.map((a) => a.append)]);
              if (!mine!.ok) throw mine!.error;
              res = mine!.value;
              alongOutcomes = theirs.map(sentOrNull);
            } else {
              res = await appendOwn(rt, agentStream(id), envelopes, { expectedRevision: actor.revision, ...attached });
            }
          } catch (err) {
            await Promise.all(along.map((a) => a.settle(null)));
            if (!isWrongExpectedRevision(err) || conflicts >= MAX_CONFLICT_RETRIES) throw err;
            conflicts++;
            await new Promise((r) => setTimeout(r, backoffMs(conflicts, { baseMs: 1, maxMs: 50, jitter: 'full' })));
            await foldTail(rt, actor);
            continue;
          }
          if (attached.attachments) rt.deps.blobs.stored(attached.attachments);
          actor.snapshot = next;
          actor.revision = res.nextExpectedRevision;
          if (settlesOwn) actor.indexEnded = true;
          if (childSettled) opts.settlesChild!.indexEnded = true;
          actor.eventsSinceSnapshot += events.length;
          actor.changed();
          if (actor.eventsSinceSnapshot >= rt.deps.config.snapshotEvery) saveSnapshot(rt, actor);
          for (const a of actions) {
            try {
              (a.exec as ((info: unknown, params: unknown) => void) | undefined)?.(a.info, a.params);
            } catch (err) {
              rt.deps.logger.error({ agentId: id, err }, 'effect failed to start');
            }
          }
          for (const [i, a] of along.entries()) await a.settle(alongOutcomes[i] ?? null);
          return events;
        }
      });
      // The other writers' events folded in above ran their effects only where they were
      // written (a child's end waking its parent, say), and the subscription will not bring
      // them again: react to them here.
      if (conflicts > 0 && rt.worker) rt.reconcileSoon(id);
      return stored;
    } catch (err) {
      // The copy was replaced while this command waited (a lease claimed or lost): decide
      // again on the one now cached.
      if (err instanceof StaleActor) continue;
      throw err;
    }
  }
}

function envelope(rt: RuntimeContext, c: AgentContext, e: DomainEvent, at: Date, causationId?: string): EventToAppend {
  const metadata = { correlationId: c.rootId, causationId: causationId ?? `agent:${c.id}`, schemaVersion: eventSchemas[e.type].version, at: at.toISOString() };
  return { id: rt.deps.ids.uuid(), type: e.type, data: e.data, metadata: leanMetadata(agentStream(c.id), metadata) };
}

/** Keeps the actor's snapshot (in the background: it is only an optimisation for loading). */
export function saveSnapshot(rt: RuntimeContext, actor: LiveActor): void {
  actor.eventsSinceSnapshot = 0;
  track(
    rt,
    rt.deps.snapshots
      .save({ streamId: agentStream(actor.id), revision: actor.revision, machineVersion: AGENT_MACHINE_VERSION, state: persistable(actor.snapshot) })
      .catch((err: unknown) => rt.deps.logger.warn({ agentId: actor.id, err }, 'snapshot not saved')),
  );
}

class StaleActor extends Error {}
