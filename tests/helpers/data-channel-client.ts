/**
 * A Session Manager data-channel client of the project's own, written from
 * /work/shared/reference/ecs-exec-protocol.md (§2), not from a package, that behaves like AWS's
 * session-manager-plugin, awkward parts included:
 * - the text OpenDataChannel frame first, then binary frames with HeaderLength 116, the message
 *   type space-padded, the UUID halves swapped, the payload's SHA-256;
 * - output: the expected sequence number is acked and printed, later ones acked and buffered,
 *   earlier ones ignored without an ack; `dropEarlyOutput` drops the first N messages unacked and
 *   unbuffered (the plugin's gap before its shell handler is registered), which only a server
 *   that resends can recover from;
 * - input: numbered from 0, kept until acked, the oldest unacked resent every 100 ms once older
 *   than 200 ms; `duplicateSends` sends every input frame twice (the plugin sends before it
 *   buffers, so an ack can race it), `loseAcksOfInput` ignores the first ack of those sequence
 *   numbers (a lost ack, so the client resends);
 * - a chunk that is exactly "\n" is sent as "\r"; Ctrl-C is byte 0x03; sizes are PayloadType 3.
 */
import { createHash, randomUUID } from 'node:crypto';
import WebSocket from 'ws';

const HEADER_LENGTH = 116;

export interface ClientFrame {
  messageType: string;
  sequenceNumber: number;
  flags: number;
  messageId: string;
  payloadType: number;
  payload: Buffer;
}

export function encodeClientFrame(frame: ClientFrame, options: { createdDate?: number } = {}): Buffer {
  const out = Buffer.alloc(HEADER_LENGTH + 4 + frame.payload.length);
  out.writeUInt32BE(HEADER_LENGTH, 0);
  out.write(frame.messageType.padEnd(32, ' '), 4, 32, 'ascii');
  out.writeUInt32BE(1, 36);
  out.writeBigUInt64BE(BigInt(options.createdDate ?? Date.now()), 40);
  out.writeBigInt64BE(BigInt(frame.sequenceNumber), 48);
  out.writeBigUInt64BE(BigInt(frame.flags), 56);
  const uuid = Buffer.from(frame.messageId.replace(/-/g, ''), 'hex');
  uuid.copy(out, 64, 8, 16);
  uuid.copy(out, 72, 0, 8);
  createHash('sha256').update(frame.payload).digest().copy(out, 80);
  out.writeUInt32BE(frame.payloadType, 112);
  out.writeUInt32BE(frame.payload.length, 116);
  frame.payload.copy(out, 120);
  return out;
}

export function decodeClientFrame(raw: Buffer): ClientFrame | undefined {
  if (raw.length < 120) return undefined;
  const headerLength = raw.readUInt32BE(0);
  const payload = raw.subarray(headerLength + 4);
  if (payload.length !== raw.readUInt32BE(116)) return undefined;
  if (payload.length > 0 && !createHash('sha256').update(payload).digest().equals(raw.subarray(80, 112)))
    return undefined;
  if (raw.readBigUInt64BE(40) === 0n) return undefined;
  const uuid = Buffer.concat([raw.subarray(72, 80), raw.subarray(64, 72)]).toString('hex');
  return {
    messageType: raw
      .subarray(4, 36)
      .toString('ascii')
      .replace(/^\0+|\0+$/g, '')
      .trim(),
    sequenceNumber: Number(raw.readBigInt64BE(48)),
    flags: Number(raw.readBigUInt64BE(56)),
    messageId: `${uuid.slice(0, 8)}-${uuid.slice(8, 12)}-${uuid.slice(12, 16)}-${uuid.slice(16, 20)}-${uuid.slice(20)}`,
    payloadType: raw.readUInt32BE(112),
    payload,
  };
}

export interface DataChannelClientOptions {
  dropEarlyOutput?: number;
  duplicateSends?: boolean;
  loseAcksOfInput?: number[];
  /** Sends no acks at all for output (a client that stopped reading). */
  neverAck?: boolean;
}

export interface ChannelClosed {
  Output?: string;
  SessionId?: string;
  MessageType?: string;
  ExitCode?: number | null;
}

interface Unacked {
  frame: ClientFrame;
  sentAtMs: number;
}

export class DataChannelClient {
  readonly socket: WebSocket;
  private outputText = '';
  private expectedOutput = 0;
  private readonly heldOutput = new Map<number, ClientFrame>();
  private dropped = 0;
  private nextInput = 0;
  private readonly unacked = new Map<number, Unacked>();
  private readonly acksToLose: Set<number>;
  private resendTimer: NodeJS.Timeout;
  /** Counts for assertions. */
  readonly stats = { outputFrames: 0, duplicateOutput: 0, resentInput: 0, acksReceived: 0 };
  readonly closedFrame: Promise<ChannelClosed>;
  readonly socketClosed: Promise<{ code: number; reason: string }>;

  private constructor(
    url: string,
    private readonly options: DataChannelClientOptions,
  ) {
    this.acksToLose = new Set(options.loseAcksOfInput ?? []);
    this.socket = new WebSocket(url);
    let resolveClosed!: (value: ChannelClosed) => void;
    this.closedFrame = new Promise((resolve) => {
      resolveClosed = resolve;
    });
    this.socket.on('message', (data, isBinary) => {
      if (!isBinary) return;
      const frame = decodeClientFrame(data as Buffer);
      if (!frame) return;
      if (frame.messageType === 'acknowledge') this.onAck(frame);
      else if (frame.messageType === 'output_stream_data') this.onOutput(frame);
      else if (frame.messageType === 'channel_closed') {
        let body: ChannelClosed = {};
        try {
          body = JSON.parse(frame.payload.toString()) as ChannelClosed;
        } catch {}
        resolveClosed(body);
      }
    });
    this.socketClosed = new Promise((resolve) =>
      this.socket.on('close', (code, reason) => resolve({ code, reason: reason.toString() })),
    );
    this.resendTimer = setInterval(() => this.resendOldest(), 100);
    this.socketClosed.then(() => clearInterval(this.resendTimer));
  }

  /** Dials the stream URL and sends the OpenDataChannel frame. */
  static async open(
    streamUrl: string,
    tokenValue: string,
    options: DataChannelClientOptions = {},
  ): Promise<DataChannelClient> {
    const client = new DataChannelClient(streamUrl, options);
    await new Promise<void>((resolve, reject) => {
      client.socket.once('open', () => resolve());
      client.socket.once('error', reject);
    });
    client.socket.send(
      JSON.stringify({
        MessageSchemaVersion: '1.0',
        RequestId: randomUUID(),
        TokenValue: tokenValue,
        ClientId: randomUUID(),
        ClientVersion: '1.2.707.0',
      }),
    );
    return client;
  }

  output(): string {
    return this.outputText;
  }

  /** Keystrokes, as the plugin sends them (≤ 1024 bytes a frame, a lone "\n" as "\r"). */
  type(text: string): void {
    const bytes = Buffer.from(text === '\n' ? '\r' : text);
    for (let offset = 0; offset < bytes.length; offset += 1024)
      this.sendInput(1, bytes.subarray(offset, offset + 1024));
  }

  interrupt(): void {
    this.sendInput(1, Buffer.from([0x03]));
  }

  resize(cols: number, rows: number): void {
    this.sendInput(3, Buffer.from(JSON.stringify({ cols, rows })));
  }

  /** Builds the next input frame without sending it (for out-of-order tests). */
  nextInputFrame(payloadType: number, payload: Buffer): ClientFrame {
    const frame: ClientFrame = {
      messageType: 'input_stream_data',
      sequenceNumber: this.nextInput++,
      flags: 0,
      messageId: randomUUID(),
      payloadType,
      payload,
    };
    this.unacked.set(frame.sequenceNumber, { frame, sentAtMs: Date.now() });
    return frame;
  }

  sendFrame(frame: ClientFrame): void {
    if (this.socket.readyState !== WebSocket.OPEN) return;
    this.socket.send(encodeClientFrame(frame));
  }

  sendRaw(data: Buffer | string): void {
    this.socket.send(data);
  }

  unackedInput(): number {
    return this.unacked.size;
  }

  close(): void {
    clearInterval(this.resendTimer);
    this.socket.close();
  }

  private sendInput(payloadType: number, payload: Buffer): void {
    const frame = this.nextInputFrame(payloadType, payload);
    this.sendFrame(frame);
    if (this.options.duplicateSends) this.sendFrame(frame);
  }

  private onAck(frame: ClientFrame): void {
    let seq: number;
    try {
      seq = (JSON.parse(frame.payload.toString()) as { AcknowledgedMessageSequenceNumber: number })
        .AcknowledgedMessageSequenceNumber;
    } catch {
      return;
    }
    if (this.acksToLose.delete(seq)) return;
    this.stats.acksReceived++;
    this.unacked.delete(seq);
  }

  private ack(frame: ClientFrame): void {
    if (this.options.neverAck) return;
    this.sendFrame({
      messageType: 'acknowledge',
      sequenceNumber: 0,
      flags: 3,
      messageId: randomUUID(),
      payloadType: 0,
      payload: Buffer.from(
        JSON.stringify({
          AcknowledgedMessageType: frame.messageType,
          AcknowledgedMessageId: frame.messageId,
          AcknowledgedMessageSequenceNumber: frame.sequenceNumber,
          IsSequentialMessage: true,
        }),
      ),
    });
  }

  private onOutput(frame: ClientFrame): void {
    this.stats.outputFrames++;
    if (this.dropped < (this.options.dropEarlyOutput ?? 0)) {
      this.dropped++;
      return;
    }
    const seq = frame.sequenceNumber;
    if (seq < this.expectedOutput) {
      this.stats.duplicateOutput++;
      return;
    }
    this.ack(frame);
    if (seq > this.expectedOutput) {
      this.heldOutput.set(seq, frame);
      return;
    }
    this.print(frame.payload);
    this.expectedOutput++;
    for (
      let next = this.heldOutput.get(this.expectedOutput);
      next;
      next = this.heldOutput.get(this.expectedOutput)
    ) {
      this.heldOutput.delete(this.expectedOutput);
      this.print(next.payload);
      this.expectedOutput++;
    }
  }

  private print(payload: Buffer): void {
    this.outputText += payload.toString();
  }

  private resendOldest(): void {
    const oldest = [...this.unacked.values()].sort(
      (a, b) => a.frame.sequenceNumber - b.frame.sequenceNumber,
    )[0];
    if (!oldest || Date.now() - oldest.sentAtMs < 200) return;
    oldest.sentAtMs = Date.now();
    this.stats.resentInput++;
    this.sendFrame(oldest.frame);
  }
}
