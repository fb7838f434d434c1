/**
 * The control plane's end of the streams multiplexed over agent links (protocol/streams.ts). A
 * consumer (an HTTP response, a data-channel session) opens a stream on the instance's link and
 * gets its output; it says how much it has taken (`consumed`), and only then is the agent granted
 * that much more credit. So at most STREAM_WINDOW_BYTES per stream is ever in flight or buffered
 * here, whatever the consumer's speed. Input goes the other way under the agent's credit, with a
 * bounded queue. A stream whose link drops ends with AgentDisconnected.
 */
import type { AgentFrame, FrameOf } from '../../../protocol/frames';
import {
  encodeStreamData,
  MAX_STREAMS_PER_LINK,
  STREAM_CHANNELS,
  STREAM_CHUNK_BYTES,
  STREAM_WINDOW_BYTES,
  type StreamChannel,
  type StreamData,
  type StreamSpec,
} from '../../../protocol/streams';
import type { AgentLink, AgentLinks } from '../cluster/agent-links';

export interface StreamResult {
  exitCode?: number | null;
  error?: { name: string; message: string };
}

export interface StreamConsumer {
  /** Output from the agent; call `consumed(payload.length)` once it is taken (sent on, written out). */
  data(channel: StreamChannel, payload: Uint8Array): void;
  /** The stream is over: the exit code, or why not. Called once; nothing follows it. */
  end(result: StreamResult): void;
}

/** Stdin waiting for the agent's credit, per stream; past it a writer is told to stop. */
const MAX_QUEUED_INPUT_BYTES = 1024 * 1024;
/** Credit is granted back in batches of at least this, so a fast stream costs few frames. */
const GRANT_BATCH_BYTES = STREAM_WINDOW_BYTES / 4;

export class AgentStream {
  /** What the agent may still send us, by our count. */
  private outputCredit = STREAM_WINDOW_BYTES;
  private ungranted = 0;
  /** What we may still send the agent. */
  private inputCredit = STREAM_WINDOW_BYTES;
  private readonly inputQueue: Uint8Array[] = [];
  private queuedInputBytes = 0;
  ended = false;

  constructor(
    readonly id: number,
    readonly instanceArn: string,
    readonly linkId: string,
    private readonly hub: StreamHub,
    readonly consumer: StreamConsumer,
  ) {}

  /** Queues stdin; false when too much is already waiting (the writer should slow down). */
  write(payload: Uint8Array): boolean {
    if (this.ended) return false;
    if (this.queuedInputBytes + payload.length > MAX_QUEUED_INPUT_BYTES) return false;
    for (let offset = 0; offset < payload.length; offset += STREAM_CHUNK_BYTES) {
      const chunk = payload.subarray(offset, offset + STREAM_CHUNK_BYTES);
      this.inputQueue.push(chunk);
      this.queuedInputBytes += chunk.length;
    }
    this.flushInput();
    return true;
  }

  resize(cols: number, rows: number): void {
    if (!this.ended) this.hub.sendFrame(this, { type: 'streamResize', streamId: this.id, cols, rows });
  }

  /** The consumer took `bytes` of output: the agent may send that much more. */
  consumed(bytes: number): void {
    if (this.ended || bytes <= 0) return;
    this.ungranted += bytes;
    if (this.ungranted < GRANT_BATCH_BYTES && this.outputCredit > GRANT_BATCH_BYTES) return;
    const grant = this.ungranted;
    this.ungranted = 0;
    this.outputCredit += grant;
    this.hub.sendFrame(this, { type: 'streamCredit', streamId: this.id, bytes: grant });
  }

  /** Ends the stream from this side: the agent stops what it started. The consumer hears `end`. */
  close(reason: string, result: StreamResult = { error: { name: 'Closed', message: reason } }): void {
    if (this.ended) return;
    this.hub.sendFrame(this, { type: 'streamClose', streamId: this.id, reason: reason.slice(0, 1_000) });
    this.hub.finish(this, result);
  }

  /** @internal Output arrived; false when the agent sent past its credit. */
  received(data: StreamData): boolean {
    this.outputCredit -= data.payload.length;
    if (this.outputCredit < 0) return false;
    this.consumer.data(data.channel, data.payload);
    return true;
  }

  /** @internal The agent granted credit for stdin. */
  credited(bytes: number): void {
    this.inputCredit += bytes;
    this.flushInput();
  }

  private flushInput(): void {
    while (this.inputQueue.length > 0 && this.inputCredit > 0 && !this.ended) {
      const head = this.inputQueue[0]!;
      const size = Math.min(head.length, this.inputCredit);
      this.hub.sendData(this, encodeStreamData(this.id, STREAM_CHANNELS.stdin, head.subarray(0, size)));
      this.inputCredit -= size;
      this.queuedInputBytes -= size;
      if (size === head.length) this.inputQueue.shift();
      else this.inputQueue[0] = head.subarray(size);
    }
  }
}

export class AgentNotConnected extends Error {}

export class StreamHub {
  private readonly streams = new Map<number, AgentStream>();

  constructor(
    private readonly links: AgentLinks,
    private readonly log: (line: string) => void,
  ) {}

  /** Whether the instance's agent is linked here now. */
  connected(instanceArn: string): boolean {
    return this.links.linkFor(instanceArn) !== undefined;
  }

  /** Opens a stream on the instance's link; AgentNotConnected when it has none (or too many streams). */
  open(instanceArn: string, spec: StreamSpec, consumer: StreamConsumer): AgentStream {
    const link = this.links.linkFor(instanceArn);
    if (!link) throw new AgentNotConnected(`the agent of ${instanceArn} is not connected`);
    let onLink = 0;
    for (const s of this.streams.values()) if (s.linkId === link.id) onLink++;
    if (onLink >= MAX_STREAMS_PER_LINK) throw new AgentNotConnected('the agent carries too many streams');
    let id: number;
    do id = 1 + Math.floor(Math.random() * 0xffff_fffe);
    while (this.streams.has(id));
    const stream = new AgentStream(id, instanceArn, link.id, this, consumer);
    this.streams.set(id, stream);
    link.send(JSON.stringify({ type: 'streamOpen', streamId: id, spec }));
    return stream;
  }

  /** A binary frame from an agent; false when it belongs to no stream of that link (the caller counts it against the link). */
  data(link: AgentLink, data: StreamData): boolean {
    const stream = this.streams.get(data.streamId);
    if (!stream || stream.linkId !== link.id) return false;
    if (!stream.received(data)) {
      this.log(`agent link ${link.id} sent past its credit on stream ${stream.id}`);
      stream.close('the agent sent past its credit', {
        error: { name: 'ProtocolError', message: 'the agent sent past its credit' },
      });
    }
    return true;
  }

  frame(link: AgentLink, frame: FrameOf<AgentFrame, 'streamCredit' | 'streamEnd'>): void {
    const stream = this.streams.get(frame.streamId);
    if (!stream || stream.linkId !== link.id) return;
    if (frame.type === 'streamCredit') stream.credited(frame.bytes);
    else this.finish(stream, { exitCode: frame.exitCode, error: frame.error });
  }

  /** The link dropped: its streams end, each consumer told why. */
  linkClosed(link: AgentLink): void {
    for (const stream of [...this.streams.values()]) {
      if (stream.linkId !== link.id) continue;
      this.finish(stream, {
        error: { name: 'AgentDisconnected', message: "the agent's link to the control plane dropped" },
      });
    }
  }

  /** Streams open now (for tests and logs). */
  get size(): number {
    return this.streams.size;
  }

  /** @internal */
  finish(stream: AgentStream, result: StreamResult): void {
    if (stream.ended) return;
    stream.ended = true;
    this.streams.delete(stream.id);
    try {
      stream.consumer.end(result);
    } catch (error) {
      this.log(`stream ${stream.id} consumer failed at its end: ${String(error)}`);
    }
  }

  /** @internal */
  sendFrame(stream: AgentStream, frame: object): void {
    const link = this.linkOf(stream);
    if (link) link.send(JSON.stringify(frame));
  }

  /** @internal */
  sendData(stream: AgentStream, frame: Uint8Array): void {
    const link = this.linkOf(stream);
    if (link) link.sendBinary(frame);
  }

  private linkOf(stream: AgentStream): AgentLink | undefined {
    const link = this.links.linkFor(stream.instanceArn);
    if (link?.id === stream.linkId) return link;
    // The instance's link changed under the stream: what it was talking to is gone.
    this.finish(stream, {
      error: { name: 'AgentDisconnected', message: "the agent's link to the control plane dropped" },
    });
    return undefined;
  }
}
