/**
 * Streams multiplexed over the agent's own socket (exec and logs): no new connection to or from
 * the host. The control plane opens a stream with `streamOpen`; bytes travel as binary frames (the
 * only binary frames of the protocol) and everything else as JSON frames of the two unions.
 *
 * Flow control is credit-based, per stream and per direction: a sender may have at most the
 * credit its reader granted in flight (STREAM_WINDOW_BYTES to begin with), and the reader grants
 * more (`streamCredit`) only as its own consumer takes the bytes. So a slow reader (a terminal, an
 * HTTP client) makes the agent pause Docker's stream instead of either end buffering without bound.
 */
import { z } from 'zod';

/** Each direction's starting credit, in bytes. */
export const STREAM_WINDOW_BYTES = 1024 * 1024;
/** The largest payload of one data frame. */
export const STREAM_CHUNK_BYTES = 64 * 1024;
/** Streams one agent link may carry at once. */
export const MAX_STREAMS_PER_LINK = 256;

/** Which byte stream a data frame carries. */
export const STREAM_CHANNELS = { stdin: 0, stdout: 1, stderr: 2 } as const;
export type StreamChannel = (typeof STREAM_CHANNELS)[keyof typeof STREAM_CHANNELS];

const streamId = z.number().int().min(1).max(0xffff_ffff);

export const streamSpecSchema = z.discriminatedUnion('kind', [
  /** Docker exec in a container of the agent's cluster. */
  z.object({
    kind: z.literal('exec'),
    containerId: z.string().min(1).max(128),
    command: z.array(z.string().max(65_536)).min(1).max(1_000),
    /** A PTY (interactive sessions: one output channel, resizes); without, stdout and stderr stay apart. */
    tty: z.boolean(),
    /** Whether the stream carries stdin to the process. */
    stdin: z.boolean(),
    cols: z.number().int().min(1).max(10_000).optional(),
    rows: z.number().int().min(1).max(10_000).optional(),
  }),
  /** Docker logs of a container of the agent's cluster. */
  z.object({
    kind: z.literal('logs'),
    containerId: z.string().min(1).max(128),
    follow: z.boolean(),
    /** Unix seconds. */
    since: z.number().nonnegative().optional(),
    tail: z.number().int().nonnegative().optional(),
    timestamps: z.boolean(),
  }),
]);
export type StreamSpec = z.infer<typeof streamSpecSchema>;

/** Control plane → agent. */
export const controlStreamFrameSchemas = [
  /** Opens stream `streamId` (chosen by the control plane, unique on the link); the agent may send STREAM_WINDOW_BYTES. */
  z.object({ type: z.literal('streamOpen'), streamId, spec: streamSpecSchema }),
  /** The reader took `bytes` more: the writer may send that much more. */
  z.object({
    type: z.literal('streamCredit'),
    streamId,
    bytes: z
      .number()
      .int()
      .min(1)
      .max(1 << 30),
  }),
  /** The terminal of an exec with a TTY changed size. */
  z.object({
    type: z.literal('streamResize'),
    streamId,
    cols: z.number().int().min(1).max(10_000),
    rows: z.number().int().min(1).max(10_000),
  }),
  /** The control plane is done with the stream: the agent ends what it started (kills the exec). */
  z.object({ type: z.literal('streamClose'), streamId, reason: z.string().max(1_000) }),
] as const;

/** Agent → control plane. */
export const agentStreamFrameSchemas = [
  z.object({
    type: z.literal('streamCredit'),
    streamId,
    bytes: z
      .number()
      .int()
      .min(1)
      .max(1 << 30),
  }),
  /**
   * The stream is over, after its last data frame: the exec's exit code (null when it could not be
   * read), or an error (the container is gone, Docker refused) with its name and message.
   */
  z.object({
    type: z.literal('streamEnd'),
    streamId,
    exitCode: z.number().int().nullable().optional(),
    error: z.object({ name: z.string().max(100), message: z.string().max(1_000) }).optional(),
  }),
] as const;

/**
 * A data frame, binary: byte 0 is the frame kind (1), byte 1 the channel, bytes 2-3 zero, bytes
 * 4-7 the stream id (big-endian), then the payload (at most STREAM_CHUNK_BYTES).
 */
export const STREAM_DATA_HEADER_BYTES = 8;
const DATA_FRAME_KIND = 1;

export function encodeStreamData(id: number, channel: StreamChannel, payload: Uint8Array): Uint8Array {
  const frame = new Uint8Array(STREAM_DATA_HEADER_BYTES + payload.length);
  const view = new DataView(frame.buffer);
  frame[0] = DATA_FRAME_KIND;
  frame[1] = channel;
  view.setUint32(4, id);
  frame.set(payload, STREAM_DATA_HEADER_BYTES);
  return frame;
}

export interface StreamData {
  streamId: number;
  channel: StreamChannel;
  payload: Uint8Array;
}

/** A binary frame as stream data, or undefined when it is not a well-formed one. */
export function decodeStreamData(raw: Uint8Array | ArrayBuffer): StreamData | undefined {
  const bytes = raw instanceof Uint8Array ? raw : new Uint8Array(raw);
  if (bytes.length < STREAM_DATA_HEADER_BYTES || bytes[0] !== DATA_FRAME_KIND) return undefined;
  if (bytes.length > STREAM_DATA_HEADER_BYTES + STREAM_CHUNK_BYTES) return undefined;
  const channel = bytes[1] as StreamChannel;
  if (channel !== 0 && channel !== 1 && channel !== 2) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const streamId = view.getUint32(4);
  if (streamId === 0) return undefined;
  return { streamId, channel, payload: bytes.subarray(STREAM_DATA_HEADER_BYTES) };
}
