import type { ActorIndex, Logger } from './ports/runtimePorts.js';

export interface WorkerOptions {
  /** This worker's unique name (host:pid:random is a good one). */
  readonly owner: string;
  /** A lease not renewed within this time is free for another worker to take. */
  readonly leaseTtlMs: number;
  /** How often leases are renewed and free actors claimed. */
  readonly tickMs: number;
  /** The most live actors this worker hosts. */
  readonly capacity: number;
  /**
   * Whether it claims live actors nobody holds (new ones, a dead process's). A `cadre worker`
   * and a recovering host (`cadre serve`) do; a plain process (`cadre run`, a script) holds only
   * what it creates and, while it runs an agent, what is free in that agent's subtree
   * (hostSubtree), so it never takes work another process left to workers outside it.
   */
  readonly claimFree?: boolean;
  /** True for a lease owner known to be dead (a process of this machine that no longer runs). */
  readonly isDead?: (owner: string) => boolean;
}

/** The most free actors of the hosted subtrees one tick takes. */
const SUBTREE_BATCH = 500;

/**
 * Leases make one process the only host of a live actor: every process that runs effects (a
 * worker, `cadre serve`, a plain `cadre run` or script) holds one per actor it hosts. It renews
 * them every tick, claims live actors nobody holds when `claimFree` (new ones, or a dead
 * process's whose leases expired), and drops actors whose lease it lost. Correctness of writes
 * never depends on the lease — every append carries the actor's expected revision — the lease
 * keeps two processes from both running effects (a model call, a tool, a worktree).
 */
export class WorkerHost {
  private readonly held = new Set<string>();
  private timer: ReturnType<typeof setInterval> | null = null;
  private ticking: Promise<void> | null = null;
  private claimFree: boolean;
  /**
   * New actors whose lease is being written with their index row (leaseForNew, until adopt or
   * release). Their room is taken, but a tick must not renew them: before the row exists the
   * renewal finds nothing, and counting that as a lost lease dropped the actor from `held` while
   * its row went in leased here, so a tick could fill the room and adopt() then turned it away,
   * its stored lease left to lapse (60 s in workerRaces' burst test) with nobody running it.
   */
  private readonly pending = new Set<string>();
  /** Ids this process cannot host, each until a time: not claimed again before it (`decline`). */
  private readonly declinedUntil = new Map<string, number>();
  /** Agents whose subtrees a plain process hosts while it runs them (ids, each with its count of runs). */
  private readonly subtrees = new Map<string, number>();

  constructor(
    private readonly index: ActorIndex,
    private readonly options: WorkerOptions,
    private readonly logger: Logger,
    private readonly onClaimed: (ids: string[]) => Promise<void>,
    private readonly onLost: (ids: string[]) => void,
  ) {
    this.claimFree = options.claimFree ?? true;
  }

  /** Whether free actors are claimed on every tick. */
  get claimsFree(): boolean {
    return this.claimFree;
  }

  /** From now on, claim free actors too (a recovering host, once its own recovery is done). */
  startClaiming(): void {
    this.claimFree = true;
  }

  /**
   * Claims, like a worker but only within `id`'s subtree, what is free there (the agent itself,
   * children nobody runs, a dead process's actors), now and on every tick until the returned
   * function is called. A plain process running an agent uses it so the agent's children run too.
   */
  async hostSubtree(id: string): Promise<() => void> {
    this.subtrees.set(id, (this.subtrees.get(id) ?? 0) + 1);
    // Hosted here already (a child this process just spawned, say): what its subtree has that
    // nobody hosts is taken on the next tick; asking now cost three queries per workflow node.
    if (!this.held.has(id) || this.pending.has(id)) {
      await this.freeDeadOwners();
      // A tick already under way may have listed before the scope was added: one after it has not.
      await this.ticking;
      await this.tick();
    }
    return () => {
      const n = (this.subtrees.get(id) ?? 1) - 1;
      if (n > 0) this.subtrees.set(id, n);
      else this.subtrees.delete(id);
    };
  }

  /**
   * Takes the leases of those of `ids` that are free (or already this host's), within the
   * capacity; returns the ids now held. The caller loads and reconciles them.
   */
  async claim(ids: readonly string[]): Promise<string[]> {
    const room = Math.max(0, this.options.capacity - this.held.size);
    const wanted = ids.filter((id) => !this.held.has(id)).slice(0, room);
    const got = wanted.length === 0 ? [] : await this.index.acquireLeases(this.options.owner, wanted, this.options.leaseTtlMs);
    for (const id of got) this.held.add(id);
    return [...ids.filter((id) => this.held.has(id))];
  }

  /**
   * Recovery's claim: first frees the leases of holders known to be dead (a killed process on
   * this machine: `isDead`), so a restart right after a crash recovers its actors at once, with
   * worktrees reconciled and workflows resumed; then takes what is free. Leases of holders that
   * may be alive stay theirs; if they lapse, the claiming ticks take the actors over.
   */
  async claimRecoverable(ids: readonly string[]): Promise<Set<string>> {
    await this.freeDeadOwners();
    return new Set(await this.claim(ids));
  }

  private async freeDeadOwners(): Promise<void> {
    const isDead = this.options.isDead;
    if (isDead) for (const owner of await this.index.leaseOwners()) if (owner !== this.options.owner && isDead(owner)) await this.index.releaseLeases(owner);
  }

  hosts(id: string): boolean {
    return this.held.has(id);
  }

  get hostedCount(): number {
    return this.held.size;
  }

  /**
   * The lease a new actor `id` is registered with, if this worker has room for it. The room is
   * taken at once, so concurrent spawns cannot all be leased here past the capacity; adopt()
   * confirms it once the actor's first event is written (or release() gives it back).
   */
  leaseForNew(id: string): { owner: string; ttlMs: number } | undefined {
    if (this.held.size >= this.options.capacity) return undefined;
    this.held.add(id);
    this.pending.add(id);
    return { owner: this.options.owner, ttlMs: this.options.leaseTtlMs };
  }

  /**
   * Takes (or renews) the lease of an actor this worker just created. `leased`: its index entry
   * was written with this worker's lease (leaseForNew), which is then ours without asking again
   * (one UPDATE per spawn saved); otherwise the entry was there before (a spawn retried after a
   * crash) and the lease is taken as for any other actor.
   */
  async adopt(id: string, leased = false): Promise<boolean> {
    const wasPending = this.pending.delete(id);
    if (leased && wasPending && this.held.has(id)) return true;
    if (!this.held.has(id) && this.held.size >= this.options.capacity) return false; // leave it for a worker with room
    const got = (await this.index.acquireLeases(this.options.owner, [id], this.options.leaseTtlMs)).includes(id);
    if (got) this.held.add(id);
    else this.held.delete(id);
    return got;
  }

  release(id: string): void {
    this.pending.delete(id);
    this.held.delete(id);
  }

  /** Stops hosting `id` and frees its lease at once, for any worker to claim. */
  async giveUp(id: string): Promise<void> {
    this.held.delete(id);
    await this.index.releaseLeases(this.options.owner, [id]);
  }

  /**
   * Gives `id` up and claims it no more for `forMs`: this process cannot host it (its worktree is
   * another repository's), and claiming it again each tick kept it from the worker that can.
   */
  async decline(id: string, forMs: number): Promise<void> {
    this.declinedUntil.set(id, Date.now() + forMs);
    await this.giveUp(id);
  }

  private declined(id: string): boolean {
    const until = this.declinedUntil.get(id);
    if (until === undefined) return false;
    if (until > Date.now()) return true;
    this.declinedUntil.delete(id);
    return false;
  }

  start(): void {
    this.timer = setInterval(() => void this.tick(), this.options.tickMs);
    this.timer.unref?.();
  }

  tick(): Promise<void> {
    this.ticking ??= this.doTick().finally(() => (this.ticking = null));
    return this.ticking;
  }

  private async doTick(): Promise<void> {
    try {
      const mine = [...this.held].filter((id) => !this.pending.has(id));
      const renewed = new Set(mine.length === 0 ? [] : await this.index.acquireLeases(this.options.owner, mine, this.options.leaseTtlMs));
      const lost = mine.filter((id) => !renewed.has(id));
      for (const id of lost) this.held.delete(id);
      if (lost.length > 0) this.onLost(lost);
      const room = this.options.capacity - this.held.size;
      if (room <= 0 || (!this.claimFree && this.subtrees.size === 0)) return;
      const free = this.claimFree ? await this.index.listUnleased(room) : await this.index.listUnleased(Math.min(room, SUBTREE_BATCH), [...this.subtrees.keys()]);
      // Only what is new here: claim() may have taken one of them while this tick listed.
      const claimed = (await this.index.acquireLeases(this.options.owner, free.filter((id) => !this.held.has(id) && !this.declined(id)), this.options.leaseTtlMs)).filter((id) => !this.held.has(id));
      for (const id of claimed) this.held.add(id);
      if (claimed.length > 0) await this.onClaimed(claimed);
    } catch (err) {
      // A tick that ran into the store closing under it (Ctrl-C) is no news: "lease tick failed:
      // Cannot use a pool after calling end on the pool" after an interrupted run's last line.
      if (!this.stopping) this.logger.warn({ err: err instanceof Error ? err.message : String(err), owner: this.options.owner }, 'lease tick failed');
    }
  }

  /** Set once stop() begins: the store may be closing. */
  private stopping = false;

  async stop(): Promise<void> {
    this.stopping = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.ticking;
    await this.index.releaseLeases(this.options.owner).catch(() => {});
    this.held.clear();
    this.pending.clear();
  }
}
