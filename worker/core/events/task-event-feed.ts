/**
 * Fans a cluster's task state-change events out to Server-Sent Events streams. Streams are only
 * poked ("something new"); each then reads the event table in id order from where it is, so a
 * slow or late consumer gets every event exactly once and in order.
 *
 * Memory stays bounded per client: a stream is pulled, not pushed. It reads the next page of the
 * table only when its consumer has taken what was queued before, and queues at most
 * STREAM_BUFFER_BYTES (plus one event); the rest of a replay waits in the database. A client that
 * leaves events unread for STALLED_KEEPALIVES_BEFORE_DROP keepalive intervals is dropped: it holds
 * a slot and a buffer, and it loses nothing by reconnecting with Last-Event-ID.
 *
 * What sits between the stream and the client reads ahead of the client: Node's socket buffer and
 * the kernel's send buffer (up to tcp_wmem's 4 MiB, outside the process); on Workers also the RPC
 * pipe from the Durable Object to the Worker. A client that never reads is dropped once those are
 * full, so it costs about 4 MiB of page reads, not the whole replay.
 */
import { HEARTBEAT_INTERVAL_MS } from '../../../protocol';
import type { CoreDeps } from '../deps';
import { EcsError } from '../errors';
import { eventsAfter, type StoredTaskEvent, sseMessage } from './task-events';

/**
 * Open streams one cluster serves at once; one more is refused (429 at the API). 100 concurrent
 * watchers of one cluster is far more than dashboards and schedulers need, while 100 clients that
 * never read cost the process little (their queues) and the kernel at most 100 send buffers.
 */
export const MAX_OPEN_STREAMS_PER_CLUSTER = 100;

/**
 * What one stream may hold queued for its consumer: the byte budget. 128 KiB keeps a reading
 * client fed (about a page of events per pull) while 100 clients that never read queue 13 MB.
 */
export const STREAM_BUFFER_BYTES = 128 * 1024;

/** A client whose buffer stays full for this many keepalive intervals is not reading: drop it. */
export const STALLED_KEEPALIVES_BEFORE_DROP = 3;

/**
 * A stream ends cleanly after this many keepalive intervals (10 minutes at the default 10 s); the
 * client reconnects with Last-Event-ID and loses nothing. It is the backstop for a client that left
 * without the runtime saying so: local workerd (Miniflare) never cancels a stream whose client
 * disconnected, so without it the stream would hold its slot until the object restarts.
 */
export const STREAM_LIFETIME_KEEPALIVES = 60;

/**
 * Page reads one cluster's streams may have under way at once. Enough to keep several readers fed
 * over libSQL HTTP (Workers), few enough that, between two turns of the event loop, the page reads
 * of a local file (synchronous on Node, about 1.5 ms each) stay a few milliseconds of work.
 */
const PAGE_READS_AT_ONCE = 4;

const encoder = new TextEncoder();
const PREAMBLE = encoder.encode(': berth task events\n\n');
const KEEPALIVE = encoder.encode(': keepalive\n\n');

const afterPendingIo = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

/**
 * The page reads of one cluster's streams take turns, each after the event loop has served other
 * I/O. A socket swallows megabytes before it pushes back (the kernel's send buffer), so 100 streams
 * opening at once would otherwise chain thousands of page reads back to back and starve every
 * other request for seconds.
 */
class PageTurns {
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  async take<T>(read: () => Promise<T>): Promise<T> {
    if (this.running < PAGE_READS_AT_ONCE) this.running++;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    try {
      await afterPendingIo();
      return await read();
    } finally {
      // Hand the turn straight to the next in line (first come, first served), or give it back.
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    }
  }
}

export class TaskEventFeed {
  private readonly streams = new Set<TaskEventSource>();
  private readonly turns = new PageTurns();

  constructor(private readonly deps: CoreDeps) {}

  /** Something new was recorded; only streams waiting for events do any work. */
  notify(): void {
    for (const stream of this.streams) stream.poke();
  }

  open(clusterArn: string, afterEventId: number): ReadableStream<Uint8Array> {
    if (this.streams.size >= MAX_OPEN_STREAMS_PER_CLUSTER) {
      throw new EcsError(
        'LimitExceededException',
        `${clusterArn} already serves ${MAX_OPEN_STREAMS_PER_CLUSTER} task-event streams; retry later.`,
      );
    }
    // An idle stream sends a comment every heartbeat interval (the agent link's; tests shorten it).
    // It keeps proxies from closing a quiet stream, and it is a write: Workers RPC tells the object
    // that the reader of a stream went away only when the object next writes to it.
    const keepaliveMs = this.deps.config.heartbeatIntervalMs ?? HEARTBEAT_INTERVAL_MS;
    const source = new TaskEventSource(this.deps, this.turns, clusterArn, afterEventId, keepaliveMs, () =>
      this.streams.delete(source),
    );
    this.streams.add(source);
    // Arrow functions, not the object itself: runtimes differ on the `this` they call a source with.
    return new ReadableStream<Uint8Array>(
      {
        start: (controller) => source.start(controller),
        pull: (controller) => source.pull(controller),
        cancel: () => source.finish(),
      },
      { highWaterMark: STREAM_BUFFER_BYTES, size: (chunk) => chunk.byteLength },
    );
  }
}

type Wake = 'poked' | 'keepalive' | 'finished';

/** One client's stream: where it is in the table, and what it waits for. */
class TaskEventSource {
  private poked = false;
  private wake: ((why: Wake) => void) | undefined;
  private stallTimer: ReturnType<typeof setTimeout> | undefined;
  private lifetimeTimer: ReturnType<typeof setTimeout> | undefined;
  private finished = false;

  constructor(
    private readonly deps: CoreDeps,
    private readonly turns: PageTurns,
    private readonly clusterArn: string,
    private lastId: number,
    private readonly keepaliveMs: number,
    private readonly onFinish: () => void,
  ) {}

  start(controller: ReadableStreamDefaultController<Uint8Array>): void {
    controller.enqueue(PREAMBLE);
    this.lifetimeTimer = setTimeout(() => {
      this.finish();
      controller.close();
    }, STREAM_LIFETIME_KEEPALIVES * this.keepaliveMs);
  }

  /** Called by the stream whenever its queue is below the budget: the client made progress. */
  async pull(controller: ReadableStreamDefaultController<Uint8Array>): Promise<void> {
    clearTimeout(this.stallTimer);
    try {
      await this.enqueueNext(controller);
    } catch (error) {
      this.finish();
      throw error;
    }
    if (!this.finished && (controller.desiredSize ?? 0) <= 0) this.armStallTimer(controller);
  }

  poke(): void {
    this.poked = true;
    this.wake?.('poked');
  }

  finish(): void {
    if (this.finished) return;
    this.finished = true;
    clearTimeout(this.stallTimer);
    clearTimeout(this.lifetimeTimer);
    this.wake?.('finished');
    this.onFinish();
  }

  /** Enqueues the next events, or waits for some; a keepalive is enqueued when none come. */
  private async enqueueNext(controller: ReadableStreamDefaultController<Uint8Array>): Promise<void> {
    for (;;) {
      // A poke that lands while the query runs makes the loop read again instead of waiting.
      this.poked = false;
      const page = await this.turns.take(() => eventsAfter(this.deps, this.clusterArn, this.lastId));
      if (this.finished) return;
      if (page.length > 0) return this.enqueuePage(controller, page);
      if (this.poked) continue;
      const why = await this.nextWake();
      if (why === 'finished') return;
      if (why === 'keepalive') return controller.enqueue(KEEPALIVE);
    }
  }

  /** Takes what the budget has room for (at least one event); the rest stays in the table. */
  private enqueuePage(controller: ReadableStreamDefaultController<Uint8Array>, page: StoredTaskEvent[]) {
    const room = controller.desiredSize ?? 0;
    const messages: Uint8Array[] = [];
    let bytes = 0;
    for (const event of page) {
      const message = encoder.encode(sseMessage(event));
      if (messages.length > 0 && bytes + message.byteLength > room) break;
      messages.push(message);
      bytes += message.byteLength;
      this.lastId = event.id;
    }
    // One chunk per pull: one write on the socket instead of one per event.
    const chunk = new Uint8Array(bytes);
    let offset = 0;
    for (const message of messages) {
      chunk.set(message, offset);
      offset += message.byteLength;
    }
    controller.enqueue(chunk);
  }

  private nextWake(): Promise<Wake> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.wake?.('keepalive'), this.keepaliveMs);
      this.wake = (why) => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve(why);
      };
    });
  }

  /** The queue is full: unless the client reads (and so pulls) in time, it is dropped. */
  private armStallTimer(controller: ReadableStreamDefaultController<Uint8Array>): void {
    const stallMs = STALLED_KEEPALIVES_BEFORE_DROP * this.keepaliveMs;
    this.stallTimer = setTimeout(() => {
      this.finish();
      // An error, not a close: a close would have the server flush the queue to a socket nobody
      // reads, holding the connection open. An error aborts the response: on Node the socket is
      // destroyed at once; on Workers once the runtime's pending write to the client completes
      // (when it reads again or goes away). Either way this stream's slot and queue are free now.
      const dropped = new Error(
        `task-event stream dropped: its client read nothing for ${stallMs} ms; it may resume with Last-Event-ID`,
      );
      // The stack (a timer) says nothing, and the Node adapter logs the error: keep it one line.
      dropped.stack = dropped.message;
      controller.error(dropped);
    }, stallMs);
  }
}
