/**
 * `GET /berth/v1/clusters/<cluster>/task-events`: the cluster's task state changes as Server-Sent
 * Events. A client resumes where it left off with the standard `Last-Event-ID` header (or
 * `?after=<id>`); `?after=0` replays everything recorded.
 */
import type { Context } from 'hono';
import { clusterNameOf } from '../core/clusters/clusters';
import { EcsError } from '../core/errors';
import type { ApiContext } from './actions';

export async function streamTaskEvents(c: Context, ctx: ApiContext) {
  const resumeFrom = c.req.header('Last-Event-ID') ?? c.req.query('after') ?? '0';
  if (!/^\d+$/.test(resumeFrom))
    return c.json({ message: 'Last-Event-ID / after: must be an event id' }, 400);
  try {
    const name = clusterNameOf(c.req.param('cluster'));
    const stream = await ctx.coordinators.forCluster(name).openTaskEventStream(Number(resumeFrom));
    return new Response(stream, {
      headers: { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache', Connection: 'keep-alive' },
    });
  } catch (error) {
    if (error instanceof EcsError) return c.json({ __type: error.errorName, message: error.message }, 404);
    throw error;
  }
}
