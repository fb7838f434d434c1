/**
 * The ECS front door: the AWS JSON 1.1 protocol at `POST /`.
 * `X-Amz-Target: AmazonEC2ContainerServiceV20141113.<Action>` names the action; the body is the
 * action's input shape; errors are `{"__type": "<ErrorName>", "message": ...}` with the
 * `X-Amzn-ErrorType` header. This is the only place errors are turned into HTTP.
 */
import type { Context } from 'hono';
import { EcsError } from '../core/errors';
import { ACTIONS, type ApiContext } from './actions';
import { isKnownOperation, validateInput } from './model/validate-input';

export const TARGET_PREFIX = 'AmazonEC2ContainerServiceV20141113.';
const CONTENT_TYPE = 'application/x-amz-json-1.1';

function respond(c: Context, status: number, body: unknown, requestId: string, errorName?: string) {
  const headers: Record<string, string> = { 'Content-Type': CONTENT_TYPE, 'x-amzn-RequestId': requestId };
  if (errorName) headers['X-Amzn-ErrorType'] = errorName;
  return c.body(JSON.stringify(body), status as 200, headers);
}

export function renderError(c: Context, error: unknown, requestId: string, log: (line: string) => void) {
  if (error instanceof EcsError) {
    return respond(
      c,
      error.httpStatus,
      { __type: error.errorName, message: error.message },
      requestId,
      error.errorName,
    );
  }
  log(
    `internal error ${requestId}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
  );
  const name = 'ServerException';
  return respond(c, 500, { __type: name, message: `Internal error (request ${requestId})` }, requestId, name);
}

async function readInput(c: Context): Promise<unknown> {
  const text = await c.req.text();
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text);
  } catch {
    throw new EcsError('ClientException', 'The request body is not valid JSON.');
  }
}

export async function handleEcsRequest(c: Context, ctx: ApiContext, log: (line: string) => void) {
  const requestId = crypto.randomUUID();
  try {
    const target = c.req.header('X-Amz-Target') ?? '';
    if (!target.startsWith(TARGET_PREFIX)) {
      throw new EcsError(
        'ClientException',
        `X-Amz-Target: expected '${TARGET_PREFIX}<Action>', got '${target || '(missing)'}'`,
      );
    }
    const action = target.slice(TARGET_PREFIX.length);
    const handler = ACTIONS[action];
    if (!handler) {
      const known = isKnownOperation(action);
      throw new EcsError(
        known ? 'UnsupportedFeatureException' : 'ClientException',
        known ? `${action} is not supported by Berth yet.` : `Unknown action '${action}'.`,
      );
    }
    const input = await readInput(c);
    validateInput(action, input);
    const output = await handler(input, ctx);
    return respond(c, 200, output ?? {}, requestId);
  } catch (error) {
    return renderError(c, error, requestId, log);
  }
}
