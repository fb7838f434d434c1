/**
 * The Session Manager data channel's binary frame (ecs-exec-protocol.md §2.2), both ways: a
 * 120-byte header (HeaderLength 116, the offset of PayloadLength), big-endian integers, the
 * message type as space-padded ASCII, the message id as a UUID with its halves swapped, and the
 * payload's raw SHA-256.
 */

export const HEADER_LENGTH = 116;
const PAYLOAD_OFFSET = HEADER_LENGTH + 4;

export const MESSAGE_TYPES = {
  input: 'input_stream_data',
  output: 'output_stream_data',
  acknowledge: 'acknowledge',
  channelClosed: 'channel_closed',
} as const;

export const PAYLOAD_TYPES = { output: 1, error: 2, size: 3, exitCode: 12, stdErr: 11, flag: 10 } as const;
export const FLAGS = { syn: 1, fin: 2, ackOrClose: 3 } as const;

export interface DataChannelFrame {
  messageType: string;
  schemaVersion: number;
  createdDate: number;
  sequenceNumber: number;
  flags: number;
  messageId: string;
  payloadType: number;
  payload: Uint8Array;
}

async function sha256(bytes: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>));
}

function uuidBytes(uuid: string): Uint8Array {
  const hex = uuid.replace(/-/g, '');
  const bytes = new Uint8Array(16);
  for (let i = 0; i < 16; i++) bytes[i] = Number.parseInt(hex.slice(i * 2, i * 2 + 2), 16) || 0;
  return bytes;
}

function uuidString(bytes: Uint8Array): string {
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export async function encodeFrame(frame: DataChannelFrame): Promise<Uint8Array> {
  const out = new Uint8Array(PAYLOAD_OFFSET + frame.payload.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, HEADER_LENGTH);
  const type = frame.messageType.padEnd(32, ' ').slice(0, 32);
  for (let i = 0; i < 32; i++) out[4 + i] = type.charCodeAt(i);
  view.setUint32(36, frame.schemaVersion);
  view.setBigUint64(40, BigInt(frame.createdDate));
  view.setBigInt64(48, BigInt(frame.sequenceNumber));
  view.setBigUint64(56, BigInt(frame.flags));
  const id = uuidBytes(frame.messageId);
  // The halves swapped, as the plugin's putUuid writes them.
  out.set(id.subarray(8, 16), 64);
  out.set(id.subarray(0, 8), 72);
  if (frame.payload.length > 0) out.set(await sha256(frame.payload), 80);
  view.setUint32(112, frame.payloadType);
  view.setUint32(116, frame.payload.length);
  out.set(frame.payload, PAYLOAD_OFFSET);
  return out;
}

/** The frame, or why it is not one (the caller drops it, as the plugin does). */
export async function decodeFrame(raw: Uint8Array): Promise<DataChannelFrame | string> {
  if (raw.length < PAYLOAD_OFFSET) return `frame of ${raw.length} bytes is shorter than its header`;
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const headerLength = view.getUint32(0);
  if (headerLength !== HEADER_LENGTH) return `HeaderLength ${headerLength} is not ${HEADER_LENGTH}`;
  let messageType = '';
  for (let i = 4; i < 36; i++) messageType += String.fromCharCode(raw[i]!);
  messageType = messageType.replace(/^\0+|\0+$/g, '').trim();
  if (!messageType) return 'MessageType is empty';
  const createdDate = Number(view.getBigUint64(40));
  if (createdDate === 0) return 'CreatedDate is zero';
  const payloadLength = view.getUint32(116);
  if (payloadLength !== raw.length - PAYLOAD_OFFSET)
    return `PayloadLength ${payloadLength} does not match the ${raw.length - PAYLOAD_OFFSET} bytes that follow`;
  const payload = raw.subarray(PAYLOAD_OFFSET);
  if (payloadLength > 0) {
    const digest = await sha256(payload);
    const given = raw.subarray(80, 112);
    if (!digest.every((byte, i) => byte === given[i])) return 'PayloadDigest does not match the payload';
  }
  const id = new Uint8Array(16);
  id.set(raw.subarray(72, 80), 0);
  id.set(raw.subarray(64, 72), 8);
  return {
    messageType,
    schemaVersion: view.getUint32(36),
    createdDate,
    sequenceNumber: Number(view.getBigInt64(48)),
    flags: Number(view.getBigUint64(56)),
    messageId: uuidString(id),
    payloadType: view.getUint32(112),
    payload,
  };
}

/** An `acknowledge` frame for a received stream message (seq 0, flags 3, PayloadType 0). */
export function acknowledgeFrame(of: DataChannelFrame): Promise<Uint8Array> {
  const body = {
    AcknowledgedMessageType: of.messageType,
    AcknowledgedMessageId: of.messageId,
    AcknowledgedMessageSequenceNumber: of.sequenceNumber,
    IsSequentialMessage: true,
  };
  return encodeFrame({
    messageType: MESSAGE_TYPES.acknowledge,
    schemaVersion: 1,
    createdDate: Date.now(),
    sequenceNumber: 0,
    flags: FLAGS.ackOrClose,
    messageId: crypto.randomUUID(),
    payloadType: 0,
    payload: new TextEncoder().encode(JSON.stringify(body)),
  });
}

/** Splits a command line into words the way a shell would for plain words and quotes (no expansions). */
export function shellWords(line: string): string[] {
  const words: string[] = [];
  let word: string | undefined;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < line.length; i++) {
    const char = line[i]!;
    if (quote) {
      if (char === quote) quote = undefined;
      else if (char === '\\' && quote === '"' && i + 1 < line.length) word = (word ?? '') + line[++i];
      else word = (word ?? '') + char;
    } else if (char === '"' || char === "'") {
      quote = char;
      word ??= '';
    } else if (char === '\\' && i + 1 < line.length) {
      word = (word ?? '') + line[++i];
    } else if (/\s/.test(char)) {
      if (word !== undefined) words.push(word);
      word = undefined;
    } else word = (word ?? '') + char;
  }
  if (word !== undefined) words.push(word);
  return words;
}
