/**
 * Streams between HTTP requests. A baton is good for exactly one request: it is taken when a
 * request arrives and a fresh one is issued with the response, which serializes each stream's
 * requests as the protocol requires. Over HTTP the server never learns that a client went away, so a
 * parked stream that nobody continues is closed (rolling back its transaction) after an idle timeout.
 */
import { randomBytes } from 'node:crypto';
import type { SqlConnection } from './connection';
import { HranaError } from './errors';
import { HranaStream } from './stream';
import { WriteGate } from './write-gate';

/** Short, because a stream abandoned inside a transaction holds the write gate until it expires. */
export const STREAM_IDLE_TIMEOUT_MS = 10_000;
/** Each stream holds an open connection (a file handle and its page cache). */
export const MAX_OPEN_STREAMS = 128;
const BATON_RANDOM_BYTES = 24;

interface ParkedStream {
  stream: HranaStream;
  idleTimer: NodeJS.Timeout;
}

export class StreamRegistry {
  readonly #openConnection: () => SqlConnection;
  readonly #idleTimeoutMs: number;
  readonly #parked = new Map<string, ParkedStream>();
  /** Parked and in-flight streams alike. */
  readonly #live = new Set<HranaStream>();
  /** Shared by every stream: one writer at a time, as in SQLite itself. */
  readonly #writeGate = new WriteGate();

  constructor(openConnection: () => SqlConnection, idleTimeoutMs = STREAM_IDLE_TIMEOUT_MS) {
    this.#openConnection = openConnection;
    this.#idleTimeoutMs = idleTimeoutMs;
  }

  get openStreamCount(): number {
    return this.#live.size;
  }

  open(): HranaStream {
    if (this.#live.size >= MAX_OPEN_STREAMS) {
      throw new HranaError('STREAMS_EXHAUSTED', `Too many open streams (at most ${MAX_OPEN_STREAMS})`);
    }
    const stream = new HranaStream(this.#openConnection(), this.#writeGate);
    this.#live.add(stream);
    return stream;
  }

  /** The stream a baton continues, now owned by the caller until it is parked or released. */
  take(baton: string): HranaStream | undefined {
    const parked = this.#parked.get(baton);
    if (!parked) return undefined;
    this.#parked.delete(baton);
    clearTimeout(parked.idleTimer);
    return parked.stream;
  }

  /** Keeps an open stream for its next request and returns the baton that continues it. */
  park(stream: HranaStream): string {
    const baton = randomBytes(BATON_RANDOM_BYTES).toString('base64url');
    const idleTimer = setTimeout(() => {
      this.#parked.delete(baton);
      this.release(stream);
    }, this.#idleTimeoutMs);
    // An idle stream must not keep a CLI or test process alive on its own.
    idleTimer.unref();
    this.#parked.set(baton, { stream, idleTimer });
    return baton;
  }

  /** Closes the stream (if still open) and forgets it. */
  release(stream: HranaStream): void {
    stream.close();
    this.#live.delete(stream);
  }

  closeAll(): void {
    this.#writeGate.refuseAll('The server is shutting down');
    for (const { idleTimer } of this.#parked.values()) clearTimeout(idleTimer);
    this.#parked.clear();
    for (const stream of this.#live) stream.close();
    this.#live.clear();
  }
}
