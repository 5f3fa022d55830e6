/**
 * MAX_CONCURRENT_AGENTS: at most `limit` agents hold a slot (are working) at once; the rest
 * wait in FIFO order. An agent gives its slot up while it only waits for its children, so a
 * deep tree can never deadlock on slots its own ancestors hold.
 */
/**
 * An ask for a slot withdrawn because its actor gave its slot up meanwhile (it now waits for
 * children, or ended): the asker stops and the actor's state is looked at again.
 */
export class SlotWithdrawn extends Error {
  constructor(readonly agentId: string) {
    super(`slot ask for ${agentId} withdrawn`);
  }
}

export class Slots {
  private readonly holders = new Set<string>();
  private readonly queue: Array<{ id: string; grant: () => void; refuse: (err: Error) => void }> = [];
  private closedWith: Error | null = null;

  constructor(private readonly limit: number) {}

  get running(): number {
    return this.holders.size;
  }
  get waiting(): number {
    return this.queue.length;
  }

  holds(id: string): boolean {
    return this.holders.has(id);
  }

  acquire(id: string): Promise<void> {
    if (this.closedWith) return Promise.reject(this.closedWith);
    if (this.holders.has(id)) return Promise.resolve();
    const queued = this.queue.find((q) => q.id === id);
    if (queued) {
      return new Promise((r, j) => {
        const [prevGrant, prevRefuse] = [queued.grant, queued.refuse];
        queued.grant = () => { prevGrant(); r(); };
        queued.refuse = (err) => { prevRefuse(err); j(err); };
      });
    }
    if (this.holders.size < this.limit) {
      this.holders.add(id);
      return Promise.resolve();
    }
    return new Promise((resolve, refuse) => this.queue.push({ id, grant: resolve, refuse }));
  }

  /**
   * Takes a slot for `id` only if one is free now and nobody is queued for one (no jumping the
   * queue): true if `id` holds a slot afterwards. Lets a start be recorded in the same append as
   * what made it due.
   */
  tryAcquire(id: string): boolean {
    if (this.closedWith) return false;
    if (this.holders.has(id)) return true;
    if (this.holders.size >= this.limit || this.queue.length > 0) return false;
    this.holders.add(id);
    return true;
  }

  /** Shutting down: every waiter is refused (so nothing waits forever), and so is every later ask. */
  close(reason: Error): void {
    this.closedWith = reason;
    for (const q of this.queue.splice(0)) q.refuse(reason);
  }

  release(id: string): void {
    const idx = this.queue.findIndex((q) => q.id === id);
    // Settled, never dropped: a dropped ask left its effect (and close(), which waits for every
    // effect) waiting forever once more agents asked than there were slots.
    if (idx >= 0) this.queue.splice(idx, 1)[0]!.refuse(new SlotWithdrawn(id));
    if (!this.holders.delete(id)) return;
    while (this.holders.size < this.limit && this.queue.length > 0) {
      const next = this.queue.shift()!;
      this.holders.add(next.id);
      next.grant();
    }
  }
}
