/**
 * The data channel's frame codec (worker/core/exec/data-channel-frames.ts) against the byte
 * layout of ecs-exec-protocol.md §2.2, and ExecuteCommand's command splitting.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { decodeFrame, encodeFrame, shellWords } from '../../worker/core/exec/data-channel-frames';

const frame = {
  messageType: 'output_stream_data',
  schemaVersion: 1,
  createdDate: 1_700_000_000_123,
  sequenceNumber: 7,
  flags: 1,
  messageId: '00112233-4455-6677-8899-aabbccddeeff',
  payloadType: 1,
  payload: new TextEncoder().encode('hello'),
};

describe('the data-channel frame', () => {
  it('is laid out as the plugin reads it: HeaderLength 116, padded type, swapped UUID halves, the digest', async () => {
    const bytes = Buffer.from(await encodeFrame(frame));
    expect(bytes.readUInt32BE(0)).toBe(116);
    expect(bytes.subarray(4, 36).toString('ascii')).toBe('output_stream_data'.padEnd(32, ' '));
    expect(bytes.readUInt32BE(36)).toBe(1);
    expect(Number(bytes.readBigUInt64BE(40))).toBe(frame.createdDate);
    expect(Number(bytes.readBigInt64BE(48))).toBe(7);
    expect(Number(bytes.readBigUInt64BE(56))).toBe(1);
    expect(bytes.subarray(64, 80).toString('hex')).toBe('8899aabbccddeeff0011223344556677');
    expect(bytes.subarray(80, 112)).toEqual(createHash('sha256').update('hello').digest());
    expect(bytes.readUInt32BE(112)).toBe(1);
    expect(bytes.readUInt32BE(116)).toBe(5);
    expect(bytes.subarray(120).toString()).toBe('hello');
    const decoded = await decodeFrame(bytes);
    if (typeof decoded === 'string') throw new Error(decoded);
    expect({ ...decoded, payload: [...decoded.payload] }).toEqual({ ...frame, payload: [...frame.payload] });
  });

  it('reads a type right-aligned with NULs, as another client writes it', async () => {
    const bytes = Buffer.from(await encodeFrame(frame));
    Buffer.from('acknowledge'.padStart(32, '\0'), 'binary').copy(bytes, 4);
    expect(await decodeFrame(bytes)).toMatchObject({ messageType: 'acknowledge' });
  });

  it('refuses what the plugin would drop: short, HeaderLength 120, zero date, empty type, bad digest, wrong length', async () => {
    const good = Buffer.from(await encodeFrame(frame));
    const broken = (change: (b: Buffer) => void) => {
      const copy = Buffer.from(good);
      change(copy);
      return decodeFrame(copy);
    };
    expect(await decodeFrame(good.subarray(0, 100))).toMatch(/shorter than its header/);
    expect(await broken((b) => b.writeUInt32BE(120, 0))).toMatch(/HeaderLength 120/);
    expect(await broken((b) => b.writeBigUInt64BE(0n, 40))).toMatch(/CreatedDate is zero/);
    expect(await broken((b) => b.fill(0x20, 4, 36))).toMatch(/MessageType is empty/);
    expect(await broken((b) => (b[85] ^= 1))).toMatch(/PayloadDigest/);
    expect(await broken((b) => b.writeUInt32BE(6, 116))).toMatch(/PayloadLength 6/);
  });
});

describe('ExecuteCommand’s command', () => {
  it('is split into words as a shell would, without expansions', () => {
    expect(shellWords('/bin/sh')).toEqual(['/bin/sh']);
    expect(shellWords('  ls   -la /tmp ')).toEqual(['ls', '-la', '/tmp']);
    expect(shellWords(`sh -c 'echo "a b"; echo $HOME'`)).toEqual(['sh', '-c', 'echo "a b"; echo $HOME']);
    expect(shellWords('echo "x\\"y" a\\ b \'\'')).toEqual(['echo', 'x"y', 'a b', '']);
  });
});
