/** Serialises async critical sections (the live loop's batches and a rebuild's swap). */
export class Mutex {
  private tail: Promise<void> = Promise.resolve();

  run<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.tail.then(fn);
    this.tail = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }
}

/** A one-shot-per-round signal: `wait()` resolves at the next `fire()`. */
export class Signal {
  private waiters: (() => void)[] = [];

  fire(): void {
    const ws = this.waiters;
    this.waiters = [];
    for (const w of ws) w();
  }

  wait(timeoutMs?: number): Promise<void> {
    return new Promise((resolve) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const done = (): void => {
        if (timer !== undefined) clearTimeout(timer);
        resolve();
      };
      if (timeoutMs !== undefined) timer = setTimeout(done, timeoutMs);
      this.waiters.push(done);
    });
  }
}

/** Resolves with `'idle'` once the event loop has had a turn (nothing more was ready). */
export const nextTurn = (): Promise<'idle'> => new Promise((resolve) => setImmediate(() => resolve('idle')));

/** Resolves with `'idle'` after `ms` (a stopping runner closes the subscription, which ends the wait sooner). */
export const afterMs = (ms: number): Promise<'idle'> => new Promise((resolve) => setTimeout(() => resolve('idle'), ms));
