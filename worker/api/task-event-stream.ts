/**
 * `GET /berth/v1/clusters/<cluster>/task-events`: the cluster's task state changes as Server-Sent
 * Events. A client resumes where it left off with the standard `Last-Event-ID` header (or
 * `?after=<id>`); `?after=0` replays everything recorded. The stream itself (paging, the per-client
 * buffer, dropping clients that don't read, the per-cluster cap) is worker/core/events/task-event-feed.ts.
 */
import type { Context } from 'hono';
import { clusterNameOf } from '../core/clusters/clusters';
import { EcsError, invalidParameter } from '../core/errors';
import type { ApiContext } from './actions';
import type { KeyLimits } from './auth/key-limits';
import { renderError } from './ecs-protocol';

/** Stream slots free up as clients leave or are dropped; a few seconds is a fair first retry. */
const RETRY_AFTER_SECONDS = 5;

export async function streamTaskEvents(
  c: Context,
  ctx: ApiContext & { log: (line: string) => void },
  keyLimits: KeyLimits,
) {
  const requestId = crypto.randomUUID();
  let releaseSlot: (() => void) | undefined;
  try {
    const afterEventId = resumePoint(c.req.header('Last-Event-ID') ?? c.req.query('after') ?? '0');
    const name = clusterNameOf(c.req.param('cluster'));
    const { accessKeyId } = c.get('caller');
    releaseSlot = keyLimits.claimStream(accessKeyId);
    if (!releaseSlot) {
      throw new EcsError(
        'LimitExceededException',
        `access key ${accessKeyId} already has ${keyLimits.settings.streams} event streams open (BERTH_EVENT_STREAMS_PER_KEY); close one first`,
      );
    }
    const stream = await ctx.coordinators.forCluster(name).openTaskEventStream(afterEventId);
    return new Response(releasedWhenDone(stream, releaseSlot), {
      headers: { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache', Connection: 'keep-alive' },
    });
  } catch (error) {
    releaseSlot?.();
    const response = renderError(c, error, requestId, ctx.log);
    return isStreamLimit(error) ? tooManyRequests(response) : response;
  }
}

/**
 * The same stream, calling `release` once when it ends, fails or its reader goes away. A feed that
 * drops a client errors its stream; that error is passed on at once (not when the client next
 * reads, which a stalled client never does), so the connection closes instead of lingering.
 */
function releasedWhenDone(
  source: ReadableStream<Uint8Array>,
  release: () => void,
): ReadableStream<Uint8Array> {
  const reader = source.getReader();
  let downstream: ReadableStreamDefaultController<Uint8Array> | undefined;
  reader.closed.then(release, (error: unknown) => {
    release();
    downstream?.error(error);
  });
  return new ReadableStream<Uint8Array>({
    start(controller) {
      downstream = controller;
    },
    async pull(controller) {
      const { done, value } = await reader.read().catch(() => ({ done: true, value: undefined }));
      if (done) controller.close();
      else controller.enqueue(value);
    },
    async cancel(reason) {
      release();
      await reader.cancel(reason);
    },
  });
}

function resumePoint(text: string): number {
  const id = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(id))
    throw invalidParameter('Last-Event-ID / after: must be an event id');
  return id;
}

/** The cluster's stream cap (the only LimitExceededException opening a stream raises). */
const isStreamLimit = (error: unknown) =>
  error instanceof EcsError && error.errorName === 'LimitExceededException';

/**
 * The ECS protocol sends every client error as 400; this endpoint is plain HTTP, where a refusal to
 * come back later is 429 with Retry-After, which SSE clients and proxies understand. The body stays
 * the ECS error JSON renderError wrote.
 */
function tooManyRequests(rendered: Response): Response {
  const headers = new Headers(rendered.headers);
  headers.set('Retry-After', String(RETRY_AFTER_SECONDS));
  return new Response(rendered.body, { status: 429, headers });
}
