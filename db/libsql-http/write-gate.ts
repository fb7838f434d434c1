/**
 * SQLite allows one writer at a time. Letting this server's connections race for that lock goes
 * wrong with this engine: a statement that fails SQLITE_BUSY stays "running" until it is garbage
 * collected, and while it does SQLite holds back every later autocommit on its connection, so a
 * write reported as done would be lost. So streams queue for writing here, in order, before SQLite
 * is asked; between this server's own connections SQLITE_BUSY then never happens.
 *
 * A stream takes the gate at its first statement that may write (anything but SELECT, VALUES and
 * EXPLAIN, so any BEGIN too) and keeps it until its connection is back in autocommit. Transactions,
 * read or write, therefore run one at a time, and a deferred transaction's snapshot can never be
 * overtaken by another stream's commit; reads outside a transaction never wait.
 */
import { HranaError } from './errors';

/** How long a statement waits for another stream's write transaction (SQLite's busy timeout). */
export const WRITE_LOCK_TIMEOUT_MS = 5_000;

interface Waiter {
  owner: object;
  admit(): void;
  refuse(error: Error): void;
  timer: NodeJS.Timeout;
}

export class WriteGate {
  readonly #timeoutMs: number;
  #holder: object | undefined;
  readonly #waiters: Waiter[] = [];

  constructor(timeoutMs = WRITE_LOCK_TIMEOUT_MS) {
    this.#timeoutMs = timeoutMs;
  }

  /** Resolves once `owner` holds the gate (at once if it already does); fails as SQLite would. */
  acquire(owner: object): Promise<void> {
    if (this.#holder === owner) return Promise.resolve();
    if (this.#holder === undefined && this.#waiters.length === 0) {
      this.#holder = owner;
      return Promise.resolve();
    }
    return new Promise<void>((admit, refuse) => {
      const waiter: Waiter = {
        owner,
        admit,
        refuse,
        timer: setTimeout(() => {
          this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
          refuse(new HranaError('SQLITE_BUSY', 'database is locked'));
        }, this.#timeoutMs),
      };
      this.#waiters.push(waiter);
    });
  }

  /** Hands the gate to the next waiter; a no-op for anyone but the holder. */
  release(owner: object): void {
    if (this.#holder !== owner) return;
    const next = this.#waiters.shift();
    this.#holder = next?.owner;
    if (next) {
      clearTimeout(next.timer);
      next.admit();
    }
  }

  /** Refuses every waiter, for shutdown. */
  refuseAll(reason: string): void {
    for (const waiter of this.#waiters.splice(0)) {
      clearTimeout(waiter.timer);
      waiter.refuse(new HranaError('SHUTTING_DOWN', reason));
    }
    this.#holder = undefined;
  }
}

/** How long a statement keeps retrying SQLITE_BUSY caused by another process sharing the file. */
export const BUSY_RETRY_TIMEOUT_MS = 5_000;
const BUSY_RETRY_MAX_DELAY_MS = 50;

/**
 * Runs `attempt` again while it throws an error `isBusy` accepts, waiting on timers so the event loop
 * keeps serving everyone else meanwhile.
 */
export async function retryWhileBusy<T>(attempt: () => T, isBusy: (error: unknown) => boolean): Promise<T> {
  const giveUpAt = Date.now() + BUSY_RETRY_TIMEOUT_MS;
  for (let delayMs = 1; ; delayMs = Math.min(delayMs * 2, BUSY_RETRY_MAX_DELAY_MS)) {
    try {
      return attempt();
    } catch (error) {
      if (!isBusy(error) || Date.now() >= giveUpAt) throw error;
    }
    await new Promise((resolve) => setTimeout(resolve, delayMs));
  }
}
