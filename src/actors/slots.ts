/**
 * MAX_CONCURRENT_AGENTS: at most `limit` agents hold a slot (are working) at once; the rest
 * wait in FIFO order. An agent gives its slot up while it only waits for its children, so a
 * deep tree can never deadlock on slots its own ancestors hold.
 */
export class Slots {
  private readonly holders = new Set<string>();
  private readonly queue: Array<{ id: string; grant: () => void }> = [];

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
    if (this.holders.has(id)) return Promise.resolve();
    const queued = this.queue.find((q) => q.id === id);
    if (queued) return new Promise((r) => { const prev = queued.grant; queued.grant = () => { prev(); r(); }; });
    if (this.holders.size < this.limit) {
      this.holders.add(id);
      return Promise.resolve();
    }
    return new Promise((resolve) => this.queue.push({ id, grant: resolve }));
  }

  release(id: string): void {
    const idx = this.queue.findIndex((q) => q.id === id);
    if (idx >= 0) this.queue.splice(idx, 1);
    if (!this.holders.delete(id)) return;
    while (this.holders.size < this.limit && this.queue.length > 0) {
      const next = this.queue.shift()!;
      this.holders.add(next.id);
      next.grant();
    }
  }
}
