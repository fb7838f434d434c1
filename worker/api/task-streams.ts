/**
 * The Berth API's exec and logs, streamed (worker/core/exec/exec-streams.ts):
 *
 *   POST /berth/v1/clusters/<cluster>/tasks/<task>/exec   {"command": ["sh", "-c", "..."], "container"?: "name"}
 *   GET  /berth/v1/clusters/<cluster>/tasks/<task>/logs?container=&follow=1&since=<unix s>&tail=N&timestamps=1
 *
 * Both answer 200 with an `application/vnd.berth.stream` body (stdout and stderr records, then an
 * end record with the exit code), or an ECS error body before anything streams.
 */
import type { Context } from 'hono';
import { clusterNameOf } from '../core/clusters/clusters';
import { invalidParameter } from '../core/errors';
import { RECORD_STREAM_CONTENT_TYPE } from '../core/streams/record-stream';
import type { ApiContext } from './actions';
import { renderError } from './ecs-protocol';

export const TASK_EXEC_PATH = '/berth/v1/clusters/:cluster/tasks/:task/exec';
export const TASK_LOGS_PATH = '/berth/v1/clusters/:cluster/tasks/:task/logs';
/** Policy action names (worker/core/auth/policies.ts). */
export const TASK_STREAM_ACTIONS = { exec: 'berth:ExecuteCommand', logs: 'berth:ReadTaskLogs' } as const;

type Ctx = ApiContext & { log: (line: string) => void };

function streamResponse(body: ReadableStream<Uint8Array>): Response {
  return new Response(body, {
    headers: { 'Content-Type': RECORD_STREAM_CONTENT_TYPE, 'Cache-Control': 'no-cache' },
  });
}

export async function handleTaskExec(c: Context, ctx: Ctx) {
  const requestId = crypto.randomUUID();
  try {
    const cluster = clusterNameOf(c.req.param('cluster'));
    let body: unknown;
    try {
      body = JSON.parse(await c.req.text());
    } catch {
      throw invalidParameter('The request body is not valid JSON.');
    }
    if (body === null || typeof body !== 'object' || Array.isArray(body))
      throw invalidParameter('The request body must be a JSON object.');
    const { command, container } = body as { command?: unknown; container?: unknown };
    if (container !== undefined && typeof container !== 'string')
      throw invalidParameter('container: must be a string');
    const stream = await ctx.coordinators.forCluster(cluster).openExecStream({
      task: c.req.param('task') ?? '',
      container,
      command: command as string[],
      principal: c.get('caller').principalName,
    });
    return streamResponse(stream);
  } catch (error) {
    return renderError(c, error, requestId, ctx.log);
  }
}

function flag(value: string | undefined): boolean {
  return value === '1' || value === 'true';
}

function wholeNumber(value: string | undefined, name: string): number | undefined {
  if (value === undefined || value === '') return undefined;
  if (!/^\d{1,15}$/.test(value)) throw invalidParameter(`${name}: must be a whole number`);
  return Number(value);
}

export async function handleTaskLogs(c: Context, ctx: Ctx) {
  const requestId = crypto.randomUUID();
  try {
    const cluster = clusterNameOf(c.req.param('cluster'));
    const stream = await ctx.coordinators.forCluster(cluster).openLogStream({
      task: c.req.param('task') ?? '',
      container: c.req.query('container') || undefined,
      follow: flag(c.req.query('follow')),
      since: wholeNumber(c.req.query('since'), 'since'),
      tail: wholeNumber(c.req.query('tail'), 'tail'),
      timestamps: flag(c.req.query('timestamps')),
    });
    return streamResponse(stream);
  } catch (error) {
    return renderError(c, error, requestId, ctx.log);
  }
}
