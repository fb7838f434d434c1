/** Follows a cluster's task-events SSE stream and resolves waiters when a task reaches a status. */
import { signedFetch, type TestCredentials } from '../tests/helpers/credentials';

export class TaskEventsClient {
  private readonly waiters: {
    taskArn: string;
    status: string;
    resolve: (atMs: number) => void;
    reject: (error: Error) => void;
  }[] = [];
  private readonly seen = new Map<string, Set<string>>();
  private readonly abort = new AbortController();

  static async connect(
    endpoint: string,
    cluster: string,
    credentials: TestCredentials,
  ): Promise<TaskEventsClient> {
    const client = new TaskEventsClient();
    const response = await signedFetch(
      `${endpoint}/berth/v1/clusters/${cluster}/task-events?after=0`,
      { signal: client.abort.signal },
      credentials,
    );
    if (!response.ok || !response.body) throw new Error(`task-events: HTTP ${response.status}`);
    void client.read(response.body);
    return client;
  }

  private async read(body: ReadableStream<Uint8Array>) {
    const decoder = new TextDecoder();
    let buffer = '';
    const reader = body.getReader();
    try {
      for (;;) {
        const { value: chunk, done } = await reader.read();
        if (done) return;
        buffer += decoder.decode(chunk, { stream: true });
        let end = buffer.indexOf('\n\n');
        while (end >= 0) {
          const message = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const data = message.split('\n').find((line) => line.startsWith('data: '));
          if (data) this.onEvent(JSON.parse(data.slice(6)));
          end = buffer.indexOf('\n\n');
        }
      }
    } catch {
      // aborted on close
    }
  }

  private onEvent(event: { detail: { taskArn: string; lastStatus: string; stoppedReason?: string } }) {
    const atMs = performance.now();
    const { taskArn, lastStatus } = event.detail;
    const statuses = this.seen.get(taskArn) ?? new Set<string>();
    statuses.add(lastStatus);
    this.seen.set(taskArn, statuses);
    for (let i = this.waiters.length - 1; i >= 0; i--) {
      const waiter = this.waiters[i];
      if (waiter.taskArn !== taskArn) continue;
      if (waiter.status === lastStatus) {
        this.waiters.splice(i, 1);
        waiter.resolve(atMs);
      } else if (lastStatus === 'STOPPED') {
        // A task that stopped will never reach the status waited for: fail the sample loudly.
        this.waiters.splice(i, 1);
        waiter.reject(new Error(`task ${taskArn} stopped: ${event.detail.stoppedReason ?? 'no reason'}`));
      }
    }
  }

  /** Resolves with performance.now() at the moment the status event arrived; rejects if the task stops first. */
  waitFor(taskArn: string, status: string, timeoutMs = 60_000): Promise<number> {
    if (this.seen.get(taskArn)?.has(status)) return Promise.resolve(performance.now());
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`task ${taskArn} not ${status} after ${timeoutMs} ms`)),
        timeoutMs,
      );
      this.waiters.push({
        taskArn,
        status,
        resolve: (atMs) => {
          clearTimeout(timer);
          resolve(atMs);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
    });
  }

  close() {
    this.abort.abort();
  }
}
