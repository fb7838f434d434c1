/**
 * The Berth API for service controls beyond ECS (worker/core/services/service-controls.ts):
 *
 *   POST /berth/v1/clusters/<cluster>/services/<service>/pause     pause the rollout in progress
 *   POST /berth/v1/clusters/<cluster>/services/<service>/resume    resume it
 *   POST /berth/v1/clusters/<cluster>/services/<service>/rollback  {"serviceRevisionArn": "..."}
 *   POST /berth/v1/clusters/<cluster>/services/<service>/stop      desiredCount 0, definition kept
 *   POST /berth/v1/clusters/<cluster>/services/<service>/start     back to the count it had
 *
 * Each answers `{"service": <the ECS Service shape>}`, or an ECS error body (`__type`, `message`)
 * with the status the ECS protocol would use.
 */
import type { Context } from 'hono';
import { clusterNameOf } from '../core/clusters/clusters';
import { invalidParameter } from '../core/errors';
import type { ApiContext } from './actions';
import { renderError } from './ecs-protocol';

const CONTROLS = {
  pause: 'pauseServiceDeployment',
  resume: 'resumeServiceDeployment',
  rollback: 'rollbackService',
  stop: 'stopService',
  start: 'startService',
} as const;

type Control = keyof typeof CONTROLS;
export const SERVICE_CONTROL_PATH = '/berth/v1/clusters/:cluster/services/:service/:control';

export async function handleServiceControl(c: Context, ctx: ApiContext & { log: (line: string) => void }) {
  const requestId = crypto.randomUUID();
  try {
    const control = c.req.param('control') ?? '';
    if (!Object.hasOwn(CONTROLS, control)) {
      throw invalidParameter(
        `control: '${control.slice(0, 32)}' must be one of ${Object.keys(CONTROLS).join(', ')}`,
      );
    }
    const cluster = clusterNameOf(c.req.param('cluster'));
    const service = c.req.param('service') ?? '';
    const body = await readBody(c);
    const room = ctx.coordinators.forCluster(cluster);
    const output =
      control === 'rollback'
        ? await room.execute('rollbackService', {
            service,
            serviceRevisionArn: body.serviceRevisionArn as string,
          })
        : await room.execute(CONTROLS[control as Exclude<Control, 'rollback'>], { service });
    return c.json(output);
  } catch (error) {
    return renderError(c, error, requestId, ctx.log);
  }
}

/** An empty body is `{}`; anything else must be a JSON object. */
async function readBody(c: Context): Promise<Record<string, unknown>> {
  const text = await c.req.text();
  if (text.trim() === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw invalidParameter('body: not valid JSON');
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw invalidParameter('body: must be a JSON object');
  }
  return parsed as Record<string, unknown>;
}
