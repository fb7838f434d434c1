/**
 * SHA-256 and HMAC-SHA256 in the shape `@smithy/signature-v4` takes (`new Hash(secret?)`,
 * `update`, `digest`), over the Web Crypto API, so the same signer runs on Node and on Workers.
 */
import type { Checksum, SourceData } from '@smithy/types';

const encoder = new TextEncoder();

function bytesOf(data: SourceData): Uint8Array<ArrayBuffer> {
  if (typeof data === 'string') return new Uint8Array(encoder.encode(data));
  if (data instanceof Uint8Array && data.buffer instanceof ArrayBuffer)
    return data as Uint8Array<ArrayBuffer>;
  // A copy: Web Crypto takes only ArrayBuffer-backed views.
  if (ArrayBuffer.isView(data))
    return new Uint8Array(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  return new Uint8Array(data as ArrayBuffer);
}

export class WebCryptoSha256 implements Checksum {
  private readonly chunks: Uint8Array<ArrayBuffer>[] = [];
  constructor(private readonly secret?: SourceData) {}

  update(data: Uint8Array): void {
    this.chunks.push(bytesOf(data));
  }

  async digest(): Promise<Uint8Array> {
    let message = this.chunks.length === 1 ? this.chunks[0] : undefined;
    if (!message) {
      message = new Uint8Array(this.chunks.reduce((sum, c) => sum + c.length, 0));
      let at = 0;
      for (const chunk of this.chunks) {
        message.set(chunk, at);
        at += chunk.length;
      }
    }
    if (this.secret === undefined) return new Uint8Array(await crypto.subtle.digest('SHA-256', message));
    const key = await crypto.subtle.importKey(
      'raw',
      bytesOf(this.secret),
      { name: 'HMAC', hash: 'SHA-256' },
      false,
      ['sign'],
    );
    return new Uint8Array(await crypto.subtle.sign('HMAC', key, message));
  }

  reset(): void {
    this.chunks.length = 0;
  }
}
