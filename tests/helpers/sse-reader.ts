/** Reads a Server-Sent Events response message by message, comments (keepalives) included, as a client would. */
import { signedFetch, type TestCredentials } from './credentials';

export interface SseMessage {
  /** `id:` of an event; undefined for a comment. */
  id?: number;
  data?: string;
  /** `event:` of an event (task-state-change, deployment-state-change, service-action). */
  event?: string;
  /** The text of a comment line (`: keepalive` gives "keepalive"). */
  comment?: string;
  /** performance.now() when the message was complete. */
  atMs: number;
}

export class SseReader {
  private readonly decoder = new TextDecoder();
  private buffer = '';
  private readonly parsed: SseMessage[] = [];
  private pendingRead: Promise<ReadableStreamReadResult<Uint8Array>> | undefined;

  private constructor(
    readonly response: Response,
    private readonly reader: ReadableStreamDefaultReader<Uint8Array>,
    private readonly abort: AbortController,
  ) {}

  static async open(
    url: string,
    credentials: TestCredentials,
    headers: Record<string, string> = {},
  ): Promise<SseReader> {
    const abort = new AbortController();
    const response = await signedFetch(url, { headers, signal: abort.signal }, credentials);
    if (response.status !== 200 || !response.body) {
      abort.abort();
      throw new Error(`${url}: HTTP ${response.status} ${await response.text().catch(() => '')}`);
    }
    return new SseReader(response, response.body.getReader(), abort);
  }

  /** The next message; rejects if none completes within `timeoutMs` or the stream ends. */
  async next(timeoutMs = 10_000): Promise<SseMessage> {
    const deadline = performance.now() + timeoutMs;
    while (this.parsed.length === 0) {
      const left = deadline - performance.now();
      if (left <= 0) throw new Error(`no message within ${timeoutMs} ms`);
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timeout = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), left);
      });
      // A read that loses the race stays pending and is awaited next time, so no chunk is lost.
      this.pendingRead ??= this.reader.read();
      const read = await Promise.race([this.pendingRead, timeout]);
      clearTimeout(timer);
      if (read === 'timeout') continue;
      this.pendingRead = undefined;
      if (read.done) throw new Error('the stream ended');
      this.buffer += this.decoder.decode(read.value, { stream: true });
      this.parseBuffered();
    }
    return this.parsed.shift()!;
  }

  close(): void {
    this.abort.abort();
  }

  private parseBuffered(): void {
    const atMs = performance.now();
    for (let end = this.buffer.indexOf('\n\n'); end >= 0; end = this.buffer.indexOf('\n\n')) {
      const lines = this.buffer.slice(0, end).split('\n');
      this.buffer = this.buffer.slice(end + 2);
      const message: SseMessage = { atMs };
      for (const line of lines) {
        if (line.startsWith(':')) message.comment = line.slice(1).trim();
        else if (line.startsWith('id: ')) message.id = Number(line.slice(4));
        else if (line.startsWith('data: ')) message.data = line.slice(6);
        else if (line.startsWith('event: ')) message.event = line.slice(7);
      }
      this.parsed.push(message);
    }
  }
}
