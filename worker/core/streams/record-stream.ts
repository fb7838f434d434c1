/**
 * The Berth API's stream body for exec and logs (`application/vnd.berth.stream`): records in
 * Docker's own multiplexed layout, one byte of type, three zeros, a big-endian length, the
 * payload. Types 1 and 2 are stdout and stderr; the last record, type 3, is JSON:
 * `{"exitCode": n | null}` or `{"error": {"name", "message"}}`.
 *
 * The body is the stream's consumer: credit goes back to the agent only as the client reads, so a
 * client that stops reading stops the command's output at Docker, with under one window buffered.
 */
import { STREAM_WINDOW_BYTES, type StreamChannel } from '../../../protocol/streams';
import type { AgentStream, StreamConsumer, StreamResult } from './stream-hub';

export const RECORD_STREAM_CONTENT_TYPE = 'application/vnd.berth.stream';
export const RECORD_TYPES = { stdout: 1, stderr: 2, end: 3 } as const;

export function encodeRecord(type: number, payload: Uint8Array): Uint8Array {
  const record = new Uint8Array(8 + payload.length);
  record[0] = type;
  new DataView(record.buffer).setUint32(4, payload.length);
  record.set(payload, 8);
  return record;
}

/**
 * A response body fed by an agent stream. `open` is called with the consumer once the body exists;
 * `onEnd` sees the result (for the audit row).
 */
export function recordStreamBody(
  open: (consumer: StreamConsumer) => AgentStream,
  onEnd: (result: StreamResult) => void = () => {},
): ReadableStream<Uint8Array> {
  let stream: AgentStream | undefined;
  let untaken = 0;
  let done = false;
  const giveCredit = () => {
    if (untaken > 0 && stream) {
      stream.consumed(untaken);
      untaken = 0;
    }
  };
  return new ReadableStream<Uint8Array>(
    {
      start(controller) {
        stream = open({
          data(channel: StreamChannel, payload) {
            if (done) return;
            controller.enqueue(
              encodeRecord(channel === 2 ? RECORD_TYPES.stderr : RECORD_TYPES.stdout, payload),
            );
            untaken += payload.length;
            if ((controller.desiredSize ?? 0) > 0) giveCredit();
          },
          end(result) {
            if (done) return;
            done = true;
            const body = result.error ? { error: result.error } : { exitCode: result.exitCode ?? null };
            controller.enqueue(
              encodeRecord(RECORD_TYPES.end, new TextEncoder().encode(JSON.stringify(body))),
            );
            controller.close();
            onEnd(result);
          },
        });
      },
      pull() {
        giveCredit();
      },
      cancel() {
        if (done) return;
        done = true;
        stream?.close('the client went away');
        onEnd({ error: { name: 'ClientGone', message: 'the client went away' } });
      },
    },
    { highWaterMark: STREAM_WINDOW_BYTES, size: (chunk) => chunk.byteLength },
  );
}

/** Reads a record stream: calls `record` per record, in order. For clients (the CLI, tests). */
export async function readRecords(
  body: ReadableStream<Uint8Array>,
  record: (type: number, payload: Uint8Array) => void | Promise<void>,
): Promise<void> {
  const reader = body.getReader();
  let pending = new Uint8Array(0);
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    const joined = new Uint8Array(pending.length + value.length);
    joined.set(pending);
    joined.set(value, pending.length);
    let offset = 0;
    while (joined.length - offset >= 8) {
      const size = new DataView(joined.buffer, joined.byteOffset + offset + 4, 4).getUint32(0);
      if (joined.length - offset - 8 < size) break;
      await record(joined[offset]!, joined.subarray(offset + 8, offset + 8 + size));
      offset += 8 + size;
    }
    pending = joined.slice(offset);
  }
}
