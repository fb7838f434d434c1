/**
 * Docker's multiplexed stream format (exec and logs without a TTY): frames of an 8-byte header
 * (stream type, three zeros, big-endian payload length) and the payload. Fed raw chunks, it hands
 * out payloads with their channel (1 stdout, 2 stderr), keeping at most one partial frame.
 */
export class DockerStreamDemux {
  private pending: Buffer = Buffer.alloc(0);

  push(chunk: Buffer, out: (channel: 1 | 2, payload: Buffer) => void): void {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    let offset = 0;
    while (this.pending.length - offset >= 8) {
      const type = this.pending[offset]!;
      const size = this.pending.readUInt32BE(offset + 4);
      if (this.pending.length - offset - 8 < size) break;
      const payload = this.pending.subarray(offset + 8, offset + 8 + size);
      // Type 0 (stdin) never comes back from Docker; anything unknown counts as stdout.
      if (payload.length > 0) out(type === 2 ? 2 : 1, payload);
      offset += 8 + size;
    }
    this.pending = this.pending.subarray(offset);
  }
}
