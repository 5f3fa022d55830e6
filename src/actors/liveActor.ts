import type { AgentSnapshot } from './replay.js';

/**
 * The reason every abort of an actor's work carries. `abort()` with none builds a DOMException
 * each time, and every agent's ending aborts its just-answered call: 1.5% of a workflow run's
 * CPU in the bench's profile. One object, the same message and name.
 */
const WORK_ABORTED = new DOMException('This operation was aborted', 'AbortError');

/** The runtime's in-memory record of one live actor. Only its mailbox mutates it. */
export class LiveActor {
  snapshot: AgentSnapshot;
  /** Revision of the last stored event. */
  revision: bigint;
  eventsSinceSnapshot = 0;
  /** Commands run one at a time, in arrival order. */
  private mailbox: Promise<unknown> = Promise.resolve();
  /**
   * In-flight effects, so that reconciling twice never starts one twice: an effect (in
   * src/actors/runtime/) sets its entry before its first await and clears it when it settles.
   */
  readonly inflight = {
    /** `startRun`: waiting for a slot or recording AgentStarted. */
    starting: false,
    /** `decideNext`: opening the worktree, a workflow step, or recording the next model request. */
    deciding: false,
    /** `callModel`: the call under way; `sent` once the request has gone to the model (it may be billed). */
    call: null as { callId: string; controller: AbortController; sent?: boolean } | null,
    /** `runTools`: the tool calls running now, by toolUseId, each with what aborts its signal. */
    tools: new Map<string, AbortController>(),
    /** `awaitApproval`: the timers that deny parked calls when their approval expires, by callId. */
    approvalTimers: new Map<string, ReturnType<typeof setTimeout>>(),
    /** `agentEnded`: the ending (commit, tell the parent, clean up) under way. */
    ending: false,
    /** Being timed out or terminated: no new effect starts, only the ending. Never cleared. */
    terminating: false,
    /**
     * A child's end rides with this agent's record of it in one chained append not yet settled
     * (parentRecord.ts): one at a time, since a second decided on the same copy would be refused.
     */
    recording: false,
  };
  /** Aborts the model call and the tools under way here (terminated, its lease lost, the system closing). */
  abortWork(): void {
    this.inflight.call?.controller.abort(WORK_ABORTED);
    for (const c of this.inflight.tools.values()) c.abort(WORK_ABORTED);
    for (const t of this.inflight.approvalTimers.values()) clearTimeout(t);
    this.inflight.approvalTimers.clear();
  }

  /** Being ended on purpose: fired or timed out here, or fired as its stream says (by any process). */
  get beingEnded(): boolean {
    return this.inflight.terminating || this.snapshot.context.terminating !== null;
  }

  /**
   * The model call found recorded and unanswered when this process loaded the actor from the
   * store (recovery, a takeover, a lease taken after another host): that host may have sent it
   * already, so its reply here is recorded `resent`. Null for an actor opened here.
   */
  inheritedCall: string | null = null;

  timer: ReturnType<typeof setTimeout> | null = null;
  /** Its ending's commit also ended its actor-index entry (metadata `settles`): no markEnded. */
  indexEnded = false;
  private endWaiters: Array<() => void> = [];
  private changeWaiters: Array<() => void> = [];

  constructor(readonly id: string, snapshot: AgentSnapshot, revision: bigint) {
    this.snapshot = snapshot;
    this.revision = revision;
  }

  /** Commands queued or running on the mailbox. */
  busy = 0;

  enqueue<T>(fn: () => Promise<T>): Promise<T> {
    this.busy++;
    const run = this.mailbox.then(fn, fn).finally(() => this.busy--);
    this.mailbox = run.catch(() => {});
    return run;
  }

  /** Resolves at the next stored change (or at once if `ready` already holds). */
  waitFor(ready: () => boolean): Promise<void> {
    if (ready()) return Promise.resolve();
    return new Promise((resolve) => {
      const check = (): void => {
        if (ready()) resolve();
        else this.changeWaiters.push(check);
      };
      this.changeWaiters.push(check);
    });
  }

  /** Resolves at the next stored change. */
  nextChange(): Promise<void> {
    return new Promise((resolve) => this.changeWaiters.push(resolve));
  }

  changed(): void {
    const ws = this.changeWaiters;
    this.changeWaiters = [];
    for (const w of ws) w();
  }

  onEnd(): Promise<void> {
    return new Promise((r) => this.endWaiters.push(r));
  }

  ended(): void {
    const ws = this.endWaiters;
    this.endWaiters = [];
    for (const w of ws) w();
  }
}
