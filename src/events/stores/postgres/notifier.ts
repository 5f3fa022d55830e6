/**
 * Tells other processes "something was appended" without putting NOTIFY inside the append
 * transaction. At most one NOTIFY is in flight; pokes that arrive meanwhile collapse into one
 * more after it, so a burst of appends costs two notifications, not one per append.
 * Notifications are only a latency hint: subscribers also poll.
 */
export class CoalescingNotifier {
  private inFlight: Promise<void> | undefined;
  private dirty = false;

  constructor(private readonly send: () => Promise<unknown>) {}

  poke(): void {
    if (this.inFlight) {
      this.dirty = true;
      return;
    }
    this.inFlight = (async () => {
      do {
        this.dirty = false;
        await this.send().catch(() => {});
      } while (this.dirty);
      this.inFlight = undefined;
    })();
  }

  async drain(): Promise<void> {
    await this.inFlight;
  }
}
