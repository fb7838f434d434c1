/**
 * One ExecuteCommand session on the control plane: the server side of the Session Manager data
 * channel (ecs-exec-protocol.md §2) bridged to a Docker exec with a TTY on the task's host,
 * through a stream over the agent's link. Runtime-agnostic: the Node host and the cluster's
 * Durable Object hand it a socket and its messages.
 *
 * - The first frame is the text OpenDataChannel JSON; its TokenValue must be the session's
 *   single-use, unexpired token, else the socket is closed with 4001.
 * - No handshake (as real ECS Exec): the first output frame (PayloadType 1) starts the session.
 * - Every input_stream_data is acknowledged, duplicates included; only the expected sequence
 *   number is processed, later ones wait in a bounded buffer, earlier ones are not processed again.
 * - Output is numbered from 0, kept until acknowledged and resent after RESEND_AFTER_MS: the
 *   plugin drops output that arrives before it is ready. The agent is granted credit for output
 *   only as it is acknowledged, so an unacknowledging client holds the exec, not memory.
 * - The end (exit, idle timeout, TerminateSession, the agent's link dropping) is `channel_closed`
 *   with the reason in `Output`, then the socket closes; the session's record gets its end.
 */
import { and, eq, isNull } from 'drizzle-orm';
import { execSessions, execTranscriptChunks } from '../../../db/schema';
import type { CoreDeps } from '../deps';
import { sha256Hex } from '../sha256';
import {
  AgentNotConnected,
  type AgentStream,
  type StreamHub,
  type StreamResult,
} from '../streams/stream-hub';
import {
  acknowledgeFrame,
  type DataChannelFrame,
  decodeFrame,
  encodeFrame,
  FLAGS,
  MESSAGE_TYPES,
  PAYLOAD_TYPES,
  shellWords,
} from './data-channel-frames';
import { recordSessionEnd } from './exec-streams';

export interface DataChannelSocket {
  send(data: string | Uint8Array): void;
  close(code: number, reason: string): void;
}

/** ECS's idle timeout (not changeable in ECS; BERTH_EXEC_IDLE_TIMEOUT_MS for tests). */
export const DEFAULT_EXEC_IDLE_TIMEOUT_MS = 20 * 60_000;
/** The plugin's own first resend timeout is 200 ms; ours is a little longer, it is the one that waits. */
const RESEND_AFTER_MS = 300;
const RESEND_TICK_MS = 100;
/** Input frames the plugin sends are ≤ 1 KiB of keystrokes; anything this big is not the plugin. */
export const MAX_DATA_CHANNEL_FRAME_BYTES = 64 * 1024;
/** Out-of-order input held for a gap to fill (the plugin's buffers hold 10,000 each way). */
const MAX_BUFFERED_INPUT = 1_000;
/** How long the end waits for the client to acknowledge the last output before closing. */
const FLUSH_WAIT_MS = 2_000;
const TRANSCRIPT_FLUSH_BYTES = 64 * 1024;
const TOKEN_CLOSE = 4001;
const IDLE_OUTPUT = 'Your session timed out due to inactivity and has been terminated.';

interface SentOutput {
  seq: number;
  frame: Uint8Array;
  sentAtMs: number;
  bytes: number;
}

export interface DataChannelOptions {
  deps: CoreDeps;
  streams: StreamHub;
  log: (line: string) => void;
  /** Called once the token is accepted (TerminateSession can find the session from then on). */
  onOpen: () => void;
  /** Called once the session is over (the host forgets it). */
  onDone: () => void;
}

export class DataChannelSession {
  private phase: 'token' | 'open' | 'ending' | 'closed' = 'token';
  private inbox: Promise<void> = Promise.resolve();
  private stream: AgentStream | undefined;
  private nextOutputSeq = 0;
  private readonly unacked = new Map<number, SentOutput>();
  private expectedInputSeq = 0;
  private readonly heldInput = new Map<number, DataChannelFrame>();
  private resendTimer: ReturnType<typeof setInterval> | undefined;
  private idleTimer: ReturnType<typeof setTimeout> | undefined;
  private transcript: Uint8Array[] = [];
  private transcriptBytes = 0;
  private transcriptSeq = 0;
  private logging = false;
  private readonly idleTimeoutMs: number;

  constructor(
    readonly sessionId: string,
    private readonly socket: DataChannelSocket,
    private readonly options: DataChannelOptions,
  ) {
    this.idleTimeoutMs = options.deps.config.execIdleTimeoutMs ?? DEFAULT_EXEC_IDLE_TIMEOUT_MS;
  }

  /** A message from the client, text or binary; handled strictly in arrival order. */
  message(data: string | Uint8Array | ArrayBuffer): void {
    // Copied at once: a runtime may reuse or detach the buffer once the event handler returns.
    const bytes = typeof data === 'string' ? data : new Uint8Array(data).slice();
    const size = typeof bytes === 'string' ? bytes.length : bytes.byteLength;
    if (size > MAX_DATA_CHANNEL_FRAME_BYTES) {
      this.tooLarge();
      return;
    }
    this.inbox = this.inbox
      .then(() => this.handle(bytes))
      .catch((error: unknown) => {
        this.options.log(`data channel ${this.sessionId}: ${String(error)}`);
        this.refuse(1011, 'internal error');
      });
  }

  /** A frame over MAX_DATA_CHANNEL_FRAME_BYTES: not the plugin; the socket is closed with 1009. */
  tooLarge(): void {
    this.refuse(1009, 'frame too large');
  }

  /** The client's socket closed: whatever runs for it is stopped. */
  closed(): void {
    if (this.phase === 'closed') return;
    const wasOpen = this.phase === 'open';
    this.phase = 'closed';
    this.stopTimers();
    if (wasOpen) {
      const reason = 'the client closed the data channel';
      if (this.stream && !this.stream.ended) this.stream.close(reason);
      void this.flushTranscript().then(() =>
        recordSessionEnd(this.options.deps, this.sessionId, {
          error: { name: 'ClientClosed', message: reason },
        }),
      );
    }
    this.options.onDone();
  }

  /** TerminateSession, or the host shutting down. */
  terminate(reason: string): void {
    if (this.phase !== 'open') {
      this.refuse(1000, reason);
      return;
    }
    this.stream?.close(reason, { error: { name: 'Terminated', message: reason } });
  }

  private async handle(data: string | Uint8Array): Promise<void> {
    if (this.phase === 'closed') return;
    if (this.phase === 'token') {
      await this.openWith(data);
      return;
    }
    // After the token everything is binary; a text frame is not part of the protocol and is dropped.
    if (typeof data === 'string') return;
    const frame = await decodeFrame(data);
    if (typeof frame === 'string') {
      this.options.log(`data channel ${this.sessionId}: dropped a frame: ${frame}`);
      return;
    }
    if (frame.messageType === MESSAGE_TYPES.acknowledge) this.acknowledged(frame);
    else if (frame.messageType === MESSAGE_TYPES.input) await this.input(frame);
  }

  private async openWith(data: string | Uint8Array): Promise<void> {
    let token: unknown;
    try {
      token =
        typeof data === 'string' ? (JSON.parse(data) as { TokenValue?: unknown }).TokenValue : undefined;
    } catch {
      token = undefined;
    }
    if (typeof token !== 'string' || token.length === 0 || token.length > 1_000) {
      this.refuse(TOKEN_CLOSE, 'the first frame must carry the session token');
      return;
    }
    const { deps } = this.options;
    const nowMs = deps.now();
    // Single use: the token is spent by the one update that finds it unspent.
    const [row] = await deps.db
      .update(execSessions)
      .set({ tokenUsedAtMs: nowMs })
      .where(
        and(
          eq(execSessions.sessionId, this.sessionId),
          eq(execSessions.tokenHash, await sha256Hex(token)),
          isNull(execSessions.tokenUsedAtMs),
        ),
      )
      .returning();
    if (!row || (row.tokenExpiresAtMs ?? 0) < nowMs) {
      this.refuse(TOKEN_CLOSE, 'the session token is not valid');
      return;
    }
    this.phase = 'open';
    this.options.onOpen();
    this.logging = row.logging;
    this.resendTimer = setInterval(() => void this.resend(), RESEND_TICK_MS);
    this.touch();
    try {
      this.stream = this.options.streams.open(
        row.containerInstanceArn,
        {
          kind: 'exec',
          containerId: row.containerRuntimeId,
          command: shellWords(row.command),
          tty: true,
          stdin: true,
        },
        { data: (_channel, payload) => void this.output(payload), end: (result) => void this.end(result) },
      );
    } catch (error) {
      if (!(error instanceof AgentNotConnected)) throw error;
      await this.end({ error: { name: 'TargetNotConnected', message: "the task's agent is not connected" } });
    }
  }

  private async input(frame: DataChannelFrame): Promise<void> {
    // Acknowledged whatever its number: the plugin may have missed our first ack (§2.6).
    this.socket.send(await acknowledgeFrame(frame));
    const seq = frame.sequenceNumber;
    if (seq < this.expectedInputSeq) return;
    if (seq > this.expectedInputSeq) {
      if (this.heldInput.size < MAX_BUFFERED_INPUT) this.heldInput.set(seq, frame);
      return;
    }
    this.process(frame);
    this.expectedInputSeq++;
    for (
      let next = this.heldInput.get(this.expectedInputSeq);
      next;
      next = this.heldInput.get(this.expectedInputSeq)
    ) {
      this.heldInput.delete(this.expectedInputSeq);
      this.process(next);
      this.expectedInputSeq++;
    }
  }

  private process(frame: DataChannelFrame): void {
    if (!this.stream || this.stream.ended) return;
    if (frame.payloadType === PAYLOAD_TYPES.output) {
      this.touch();
      if (!this.stream.write(frame.payload))
        this.stream.close('the client sent input faster than the exec took it');
    } else if (frame.payloadType === PAYLOAD_TYPES.size) {
      try {
        const size = JSON.parse(new TextDecoder().decode(frame.payload)) as {
          cols?: unknown;
          rows?: unknown;
        };
        const cols = Number(size.cols);
        const rows = Number(size.rows);
        if (
          Number.isInteger(cols) &&
          Number.isInteger(rows) &&
          cols > 0 &&
          rows > 0 &&
          cols <= 10_000 &&
          rows <= 10_000
        )
          this.stream.resize(cols, rows);
      } catch {
        // A size that doesn't parse is ignored, as the agent does.
      }
    }
  }

  private acknowledged(frame: DataChannelFrame): void {
    let seq: number;
    try {
      seq = Number(
        (
          JSON.parse(new TextDecoder().decode(frame.payload)) as {
            AcknowledgedMessageSequenceNumber?: unknown;
          }
        ).AcknowledgedMessageSequenceNumber,
      );
    } catch {
      return;
    }
    const sent = this.unacked.get(seq);
    if (!sent) return;
    this.unacked.delete(seq);
    this.stream?.consumed(sent.bytes);
  }

  private async output(payload: Uint8Array): Promise<void> {
    if (this.phase !== 'open') return;
    this.touch();
    const seq = this.nextOutputSeq++;
    const frame = await encodeFrame({
      messageType: MESSAGE_TYPES.output,
      schemaVersion: 1,
      createdDate: Date.now(),
      sequenceNumber: seq,
      flags: seq === 0 ? FLAGS.syn : 0,
      messageId: crypto.randomUUID(),
      payloadType: PAYLOAD_TYPES.output,
      payload,
    });
    this.unacked.set(seq, { seq, frame, sentAtMs: Date.now(), bytes: payload.length });
    this.socket.send(frame);
    if (this.logging) this.keep(payload);
  }

  /** Resends output the client has not acknowledged in time, oldest first. */
  private resend(): void {
    const nowMs = Date.now();
    let sent = 0;
    for (const output of this.unacked.values()) {
      if (nowMs - output.sentAtMs < RESEND_AFTER_MS) continue;
      output.sentAtMs = nowMs;
      this.socket.send(output.frame);
      if (++sent >= 64) break;
    }
  }

  private touch(): void {
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => {
      this.stream?.close('idle timeout', { error: { name: 'IdleTimeout', message: IDLE_OUTPUT } });
    }, this.idleTimeoutMs);
  }

  private async end(result: StreamResult): Promise<void> {
    if (this.phase !== 'open') return;
    this.phase = 'ending';
    clearTimeout(this.idleTimer);
    // Output goes out before the close: wait (briefly) for the client to acknowledge it.
    const deadline = Date.now() + FLUSH_WAIT_MS;
    while (this.unacked.size > 0 && Date.now() < deadline && (this.phase as string) !== 'closed') {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    if ((this.phase as string) === 'closed') return;
    const output = result.error
      ? result.error.name === 'IdleTimeout'
        ? IDLE_OUTPUT
        : `${result.error.name}: ${result.error.message}`
      : `Exited with exit code ${result.exitCode ?? 'unknown'}.`;
    const body = {
      MessageId: crypto.randomUUID(),
      CreatedDate: new Date().toISOString(),
      DestinationId: this.sessionId,
      SessionId: this.sessionId,
      MessageType: MESSAGE_TYPES.channelClosed,
      SchemaVersion: 1,
      Output: output,
      ExitCode: result.exitCode ?? null,
    };
    this.socket.send(
      await encodeFrame({
        messageType: MESSAGE_TYPES.channelClosed,
        schemaVersion: 1,
        createdDate: Date.now(),
        sequenceNumber: 0,
        flags: FLAGS.ackOrClose,
        messageId: body.MessageId,
        payloadType: 0,
        payload: new TextEncoder().encode(JSON.stringify(body)),
      }),
    );
    this.stopTimers();
    this.phase = 'closed';
    await this.flushTranscript();
    await recordSessionEnd(this.options.deps, this.sessionId, result);
    this.socket.close(1000, 'session ended');
    this.options.onDone();
  }

  private keep(payload: Uint8Array): void {
    this.transcript.push(payload.slice());
    this.transcriptBytes += payload.length;
    if (this.transcriptBytes >= TRANSCRIPT_FLUSH_BYTES) void this.flushTranscript();
  }

  private async flushTranscript(): Promise<void> {
    if (this.transcript.length === 0) return;
    const chunks = this.transcript;
    this.transcript = [];
    this.transcriptBytes = 0;
    const joined = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
    let offset = 0;
    for (const chunk of chunks) {
      joined.set(chunk, offset);
      offset += chunk.length;
    }
    let binary = '';
    for (let i = 0; i < joined.length; i += 0x8000)
      binary += String.fromCharCode(...joined.subarray(i, i + 0x8000));
    try {
      await this.options.deps.db
        .insert(execTranscriptChunks)
        .values({ sessionId: this.sessionId, seq: this.transcriptSeq++, dataBase64: btoa(binary) });
    } catch (error) {
      this.options.log(`data channel ${this.sessionId}: keeping the transcript failed: ${String(error)}`);
    }
  }

  private refuse(code: number, reason: string): void {
    if (this.phase === 'closed') return;
    this.phase = 'closed';
    this.stopTimers();
    if (this.stream && !this.stream.ended) this.stream.close(reason);
    try {
      this.socket.close(code, reason);
    } catch {}
    this.options.onDone();
  }

  private stopTimers(): void {
    clearInterval(this.resendTimer);
    clearTimeout(this.idleTimer);
  }
}
