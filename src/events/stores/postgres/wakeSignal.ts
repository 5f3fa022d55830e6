/**
 * Wakes waiting subscribers when something may have been appended. The version counter closes
 * the race between "read found nothing" and "start waiting": a waiter passes the version it saw
 * before reading and returns at once if it has moved.
 */
export class WakeSignal {
  version = 0;
  private waiters = new Set<() => void>();

  fire(): void {
    this.version++;
    const ws = [...this.waiters];
    this.waiters.clear();
    for (const w of ws) w();
  }

  wait(timeoutMs: number, seenVersion: number): Promise<void> {
    if (this.version !== seenVersion) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      this.waiters.add(done);
    });
  }
}
