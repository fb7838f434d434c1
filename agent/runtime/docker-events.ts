/**
 * Follows Docker's event stream for the agent's containers and keeps following it across engine
 * restarts: when the stream breaks it reconnects with backoff, and every (re)connection asks for a
 * resync because events sent while it was away are lost for good.
 */
import type Docker from 'dockerode';
import { Backoff } from '../backoff';
import { DOCKER_RECONNECT_BASE_DELAY_MS, DOCKER_RECONNECT_MAX_DELAY_MS } from '../timing';
import type { ContainerEventKind, RuntimeWatchHandlers } from './types';

const WATCHED_ACTIONS: ContainerEventKind[] = ['start', 'die', 'oom'];
/**
 * Docker's health events are `health_status: healthy` and `health_status: unhealthy`. The engine
 * matches this filter as a prefix; every probe is also an exec (`exec_create`, `exec_start`,
 * `exec_die`), which the filter leaves out and `kindOf` ignores.
 */
const HEALTH_ACTION = 'health_status';

/** The agent's kind for a Docker action, or undefined for actions it does not follow. */
export function kindOf(action: string | undefined): ContainerEventKind | undefined {
  if (!action) return undefined;
  if (action.startsWith(`${HEALTH_ACTION}:`)) return 'health';
  return WATCHED_ACTIONS.includes(action as ContainerEventKind) ? (action as ContainerEventKind) : undefined;
}

interface DockerEvent {
  Type?: string;
  Action?: string;
  Actor?: { ID?: string };
}

function readEvents(
  stream: NodeJS.ReadableStream,
  onEvent: (event: DockerEvent) => void,
): Promise<Error | undefined> {
  return new Promise((resolve) => {
    let buffered = '';
    stream.on('data', (chunk: Buffer | string) => {
      buffered += chunk.toString();
      let newline = buffered.indexOf('\n');
      while (newline !== -1) {
        const line = buffered.slice(0, newline).trim();
        buffered = buffered.slice(newline + 1);
        if (line) {
          try {
            onEvent(JSON.parse(line) as DockerEvent);
          } catch {
            // A line that is not JSON is not an event; the next resync covers anything it meant.
          }
        }
        newline = buffered.indexOf('\n');
      }
    });
    stream.once('end', () => resolve(undefined));
    stream.once('close', () => resolve(undefined));
    stream.once('error', (error: Error) => resolve(error));
  });
}

export function watchDockerEvents(
  docker: Docker,
  labels: Record<string, string>,
  handlers: RuntimeWatchHandlers,
): { close(): void } {
  const abort = new AbortController();
  const backoff = new Backoff(DOCKER_RECONNECT_BASE_DELAY_MS, DOCKER_RECONNECT_MAX_DELAY_MS);
  let retryTimer: NodeJS.Timeout | undefined;
  // dockerode passes abortSignal through to the request although its types do not list it.
  const options: Docker.GetEventsOptions & { abortSignal: AbortSignal } = {
    filters: {
      type: ['container'],
      event: [...WATCHED_ACTIONS, HEALTH_ACTION],
      label: Object.entries(labels).map(([name, value]) => `${name}=${value}`),
    },
    abortSignal: abort.signal,
  };

  const sleep = (delayMs: number) =>
    new Promise<void>((resolve) => {
      retryTimer = setTimeout(resolve, delayMs);
    });

  async function follow() {
    while (!abort.signal.aborted) {
      let failure: Error | undefined;
      try {
        const stream = await docker.getEvents(options);
        backoff.reset();
        // Subscribed first, then resynced: nothing can fall between the inventory and the stream.
        handlers.onResync();
        failure =
          (await readEvents(stream, (event) => {
            const kind = kindOf(event.Action);
            if (event.Type === 'container' && event.Actor?.ID && kind) {
              handlers.onContainerEvent(event.Actor.ID, kind);
            }
          })) ?? new Error('the Docker event stream ended');
      } catch (error) {
        failure = error instanceof Error ? error : new Error(String(error));
      }
      if (abort.signal.aborted) return;
      handlers.onDisconnect(failure);
      await sleep(backoff.nextDelayMs());
    }
  }

  void follow();
  return {
    close() {
      abort.abort();
      clearTimeout(retryTimer);
    },
  };
}
