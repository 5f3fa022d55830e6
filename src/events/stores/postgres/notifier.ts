/**
 * Tells other processes "something was appended" without putting NOTIFY inside the append
 * transaction, and without a NOTIFY per append.
 *
 * Why throttle: a NOTIFY is a transaction of its own that needs a transaction id, so each one is
 * a WAL-flushed commit — as costly as the append it announces. One per append halved the append
 * rate (measured: 53% of the raw commit rate). So at most one NOTIFY is sent per
 * `minIntervalMs`: the first poke after a quiet spell is sent at once (no added latency for
 * sparse appends), pokes during a burst collapse into one trailing NOTIFY at the end of the
 * interval. Notifications are only a latency hint: subscribers also poll, and subscribers in this
 * process are woken directly.
 */
export class CoalescingNotifier {
  private inFlight: Promise<void> | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private dirty = false;
  private lastSentAt = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly send: () => Promise<unknown>,
    private readonly minIntervalMs = 3,
    private readonly now: () => number = () => performance.now(),
  ) {}

  poke(): void {
    this.dirty = true;
    this.schedule();
  }

  private schedule(): void {
    if (this.inFlight || this.timer) return;
    const wait = this.lastSentAt + this.minIntervalMs - this.now();
    if (wait <= 0) {
      this.flush();
      return;
    }
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.flush();
    }, wait);
    this.timer.unref?.();
  }

  private flush(): void {
    if (!this.dirty) return;
    this.dirty = false;
    this.lastSentAt = this.now();
    this.inFlight = this.send()
      .then(
        () => undefined,
        () => undefined,
      )
      .finally(() => {
        this.inFlight = undefined;
        if (this.dirty) this.schedule();
      });
  }

  /** Sends what is pending now (no waiting out the interval) and waits for it: used on close. */
  async drain(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    while (this.inFlight) await this.inFlight;
    if (this.dirty) {
      this.flush();
      await this.inFlight;
    }
  }
}
