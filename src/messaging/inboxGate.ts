import { KeyedMutex } from '../infra/mutex.js';

/**
 * The in-process half of backpressure: sends this process accepted whose `MessageSent` the
 * projection has not materialised yet, per recipient. The database counts the rest. A
 * reservation ends when its row appears (or is abandoned, or expires), whichever is first.
 */
export class InboxGate {
  private readonly reserved = new Map<string, Map<string, number>>();
  private readonly locks = new KeyedMutex();

  constructor(private readonly now: () => number) {}

  /** Runs `fn` alone for this recipient, so check-then-reserve cannot overbook. */
  exclusive<T>(recipient: string, fn: () => Promise<T>): Promise<T> {
    return this.locks.run(recipient, fn);
  }

  unprojected(recipient: string): number {
    const m = this.reserved.get(recipient);
    if (!m) return 0;
    const t = this.now();
    for (const [id, expires] of m) if (expires <= t) m.delete(id);
    if (m.size === 0) this.reserved.delete(recipient);
    return m.size;
  }

  reserve(recipient: string, messageId: string, ttlMs: number): void {
    let m = this.reserved.get(recipient);
    if (!m) this.reserved.set(recipient, (m = new Map()));
    m.set(messageId, this.now() + ttlMs);
  }

  release(recipient: string, messageId: string): void {
    const m = this.reserved.get(recipient);
    if (!m) return;
    m.delete(messageId);
    if (m.size === 0) this.reserved.delete(recipient);
  }
}
