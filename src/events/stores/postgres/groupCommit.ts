/** One submitted item's outcome, in the order the items were flushed. */
export type Outcome<Out> = { readonly ok: true; readonly value: Out } | { readonly ok: false; readonly error: unknown };

interface Waiting<In, Out> {
  readonly input: In;
  resolve(value: Out): void;
  reject(error: unknown): void;
}

/**
 * Group commit on the client: items submitted while `maxInFlight` flushes are running wait and
 * go together in the next flush (at most `maxBatch`). A lone item is flushed at once, so a
 * single writer sees no added latency; many concurrent writers share round trips and commits.
 *
 * @example
 * const appends = new GroupCommit((items) => writeAll(items), { maxBatch: 100, maxInFlight: 2 });
 * const result = await appends.submit(item);
 */
export class GroupCommit<In, Out> {
  private readonly queue: Waiting<In, Out>[] = [];
  private inFlight = 0;

  constructor(
    private readonly flush: (items: readonly In[]) => Promise<readonly Outcome<Out>[]>,
    private readonly options: {
      readonly maxBatch: number;
      readonly maxInFlight: number;
      /** With `maxWeight`: a batch stops growing at this total (say, bytes); a heavier item goes alone. */
      readonly weigh?: (item: In) => number;
      readonly maxWeight?: number;
    },
  ) {}

  submit(input: In): Promise<Out> {
    return new Promise<Out>((resolve, reject) => {
      this.queue.push({ input, resolve, reject });
      this.pump();
    });
  }

  /** How many queued items the next batch takes: by count, then by weight (always at least one). */
  private batchLength(): number {
    const { maxBatch, weigh, maxWeight } = this.options;
    const limit = Math.min(maxBatch, this.queue.length);
    if (!weigh || maxWeight === undefined) return limit;
    let total = 0;
    for (let i = 0; i < limit; i++) {
      total += weigh(this.queue[i]!.input);
      if (total > maxWeight) return Math.max(1, i);
    }
    return limit;
  }

  private pump(): void {
    while (this.inFlight < this.options.maxInFlight && this.queue.length > 0) {
      const batch = this.queue.splice(0, this.batchLength());
      this.inFlight++;
      this.flush(batch.map((w) => w.input))
        .then(
          (outcomes) =>
            batch.forEach((w, i) => {
              const o = outcomes[i];
              if (!o) w.reject(new Error('group commit: no outcome for an item'));
              else if (o.ok) w.resolve(o.value);
              else w.reject(o.error);
            }),
          (err: unknown) => batch.forEach((w) => w.reject(err)),
        )
        .finally(() => {
          this.inFlight--;
          this.pump();
        });
    }
  }
}
