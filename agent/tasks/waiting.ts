/** Waiting on conditions that change whenever a container is observed, and giving up on abort. */

export class ConditionWaiters {
  private readonly waiters = new Set<() => void>();

  /** Re-checks every pending condition (call after each change). */
  notify(): void {
    for (const check of [...this.waiters]) check();
  }

  /** Resolves once `ready()` is true; rejects on abort, or with whatever `ready` throws. */
  waitUntil(ready: () => boolean, signal: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      const cleanup = () => {
        this.waiters.delete(check);
        signal.removeEventListener('abort', onAbort);
      };
      const onAbort = () => {
        cleanup();
        reject(signal.reason);
      };
      const check = () => {
        try {
          if (!ready()) return;
          cleanup();
          resolve();
        } catch (error) {
          cleanup();
          reject(error);
        }
      };
      if (signal.aborted) return onAbort();
      this.waiters.add(check);
      signal.addEventListener('abort', onAbort, { once: true });
      check();
    });
  }
}

/** Settles with `promise`, or rejects as soon as `signal` aborts (the work itself carries on unobserved). */
export function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
