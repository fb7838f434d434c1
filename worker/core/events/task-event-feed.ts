/**
 * Fans a cluster's task state-change events out to Server-Sent Events streams. Streams are only
 * poked ("something new"); each then reads the event table in id order from where it is, so a
 * slow or late consumer gets every event exactly once and in order.
 */
import type { CoreDeps } from '../deps';
import { EVENT_BATCH, eventsAfter, sseMessage } from './task-events';

export class TaskEventFeed {
  private readonly listeners = new Set<() => void>();

  constructor(private readonly deps: CoreDeps) {}

  notify(): void {
    for (const listener of this.listeners) listener();
  }

  open(clusterArn: string, afterEventId: number): ReadableStream<Uint8Array> {
    const encoder = new TextEncoder();
    const { deps, listeners } = this;
    let lastId = afterEventId;
    let pumping = false;
    let pending = false;
    let pump: () => void = () => {};
    return new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(encoder.encode(': berth task events\n\n'));
        pump = () => {
          if (pumping) {
            pending = true;
            return;
          }
          pumping = true;
          void (async () => {
            try {
              do {
                pending = false;
                const batch = await eventsAfter(deps, clusterArn, lastId);
                for (const event of batch) {
                  controller.enqueue(encoder.encode(sseMessage(event)));
                  lastId = event.id;
                }
                if (batch.length === EVENT_BATCH) pending = true;
              } while (pending);
            } catch (error) {
              listeners.delete(pump);
              controller.error(error);
            } finally {
              pumping = false;
            }
          })();
        };
        listeners.add(pump);
        pump();
      },
      cancel() {
        listeners.delete(pump);
      },
    });
  }
}
