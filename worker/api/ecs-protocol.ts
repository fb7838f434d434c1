/**
 * The ECS front door: the AWS JSON 1.1 protocol at `POST /`.
 * `X-Amz-Target: AmazonEC2ContainerServiceV20141113.<Action>` names the action; the body is the
 * action's input shape; errors are `{"__type": "<ErrorName>", "message": ...}` with the
 * `X-Amzn-ErrorType` header. This is the only place errors are turned into HTTP.
 */
import type { Context } from 'hono';
import { EcsError, type EcsErrorName } from '../core/errors';
import type { EcsOperationName, EcsOperations } from '../ecs-types.generated';
import { ACTIONS, type ApiContext } from './actions';
import { isKnownOperation, validateInput } from './model/validate-input';
import { handleSsmAction } from './ssm-actions';

export const TARGET_PREFIX = 'AmazonEC2ContainerServiceV20141113.';
/** The two SSM actions the session-manager-plugin sends to ExecuteCommand's endpoint (ssm-actions.ts). */
export const SSM_TARGET_PREFIX = 'AmazonSSM.';
const CONTENT_TYPE = 'application/x-amz-json-1.1';

/**
 * Deeper than any input shape of the ECS model (9 levels) with room to spare. Checked on the raw
 * text before parsing, because deeply nested JSON parses fine but overflows the stack of anything
 * that later walks or serializes it.
 */
export const MAX_JSON_NESTING_DEPTH = 64;

/**
 * An ECS error the front door sends with an HTTP status of its own (413 for a body over the cap,
 * 403 for a refused Host) rather than the 400 every other caller error gets. Its `__type` stays an
 * ECS error name, so SDKs still map it to a typed exception.
 */
export class FrontDoorRefusal extends EcsError {
  constructor(
    errorName: EcsErrorName,
    message: string,
    override readonly httpStatus: number,
  ) {
    super(errorName, message);
  }
}

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

const BACKSLASH = 0x5c;
const QUOTE = 0x22;
const OPENERS = new Set([0x7b, 0x5b]); // { [
const CLOSERS = new Set([0x7d, 0x5d]); // } ]

/** True when arrays and objects in `text` nest deeper than `limit`; brackets inside strings don't count. */
function nestsDeeperThan(text: string, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const char = text.charCodeAt(i);
    if (inString) {
      if (char === BACKSLASH) i++;
      else if (char === QUOTE) inString = false;
    } else if (char === QUOTE) {
      inString = true;
    } else if (OPENERS.has(char)) {
      if (++depth > limit) return true;
    } else if (CLOSERS.has(char)) {
      depth--;
    }
  }
  return false;
}

function parseInput(text: string): unknown {
  if (text.trim() === '') return {};
  if (nestsDeeperThan(text, MAX_JSON_NESTING_DEPTH)) {
    throw new EcsError(
      'InvalidParameterException',
      `The request body nests objects and lists more than ${MAX_JSON_NESTING_DEPTH} levels deep.`,
    );
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new EcsError('ClientException', 'The request body is not valid JSON.');
  }
}

declare module 'hono' {
  interface ContextVariableMap {
    ecsBody: { value: unknown } | { error: unknown };
  }
}

/**
 * The request's JSON body, read and parsed once per request: authorization (which needs the
 * cluster it names) and the action share it, so a 1 MiB body is not decoded and parsed twice. A
 * body that doesn't parse keeps its error, which the action's answer reports.
 */
export async function ecsBodyOf(c: Context): Promise<{ value: unknown } | { error: unknown }> {
  const known = c.get('ecsBody');
  if (known) return known;
  const text = await c.req.text();
  let body: { value: unknown } | { error: unknown };
  try {
    body = { value: parseInput(text) };
  } catch (error) {
    body = { error };
  }
  c.set('ecsBody', body);
  return body;
}

/**
 * Runs action K's handler on the request body (`text`), validated against K's input shape. Indexing
 * the table by K gives K's own handler, so TypeScript checks the call; this is the one place the
 * untyped request meets the typed table, hence the one cast: validateInput has checked the body
 * against K's input shape in the ECS model, the shape EcsOperations[K]['input'] is generated from,
 * and returns a cleaned copy of it (the api-types unit test keeps both generated files in step
 * with the model).
 */
function runAction<K extends EcsOperationName>(
  action: K,
  body: unknown,
  ctx: ApiContext,
): Promise<EcsOperations[K]['output']> {
  const handler = ACTIONS[action];
  if (!handler) {
    throw new EcsError('UnsupportedFeatureException', `${action} is not supported by Berth yet.`);
  }
  // Handlers get the validated copy, never the raw body: nulls and unknown members are gone.
  const input = validateInput(action, body) as EcsOperations[K]['input'];
  return handler(input, ctx);
}

export async function handleEcsRequest(c: Context, ctx: ApiContext, log: (line: string) => void) {
  const requestId = crypto.randomUUID();
  try {
    // Read first, whatever the target: a body left unread makes the Node server close the
    // connection after the answer, under a client that may already be sending its next call on it.
    // The body cap (body-limit.ts) bounds what this reads.
    const body = await ecsBodyOf(c);
    const target = c.req.header('X-Amz-Target') ?? '';
    if (target.startsWith(SSM_TARGET_PREFIX)) {
      if ('error' in body) throw body.error;
      return respond(
        c,
        200,
        await handleSsmAction(target.slice(SSM_TARGET_PREFIX.length), body.value, ctx),
        requestId,
      );
    }
    // An action the service does not have is the JSON protocol's own UnknownOperationException (not
    // an ECS error): SDKs and the aws cli show that name, and clients probing for support match on it.
    if (!target.startsWith(TARGET_PREFIX)) {
      throw new EcsError(
        'UnknownOperationException',
        `X-Amz-Target: expected '${TARGET_PREFIX}<Action>', got '${target || '(missing)'}'`,
      );
    }
    const action = target.slice(TARGET_PREFIX.length);
    if (!isKnownOperation(action)) {
      throw new EcsError('UnknownOperationException', `Unknown action '${action}'.`);
    }
    if ('error' in body) throw body.error;
    const url = new URL(c.req.url);
    const call = { principal: c.get('caller')?.principalName ?? 'unknown', baseUrl: url.origin };
    const output = await runAction(action, body.value, { ...ctx, call });
    return respond(c, 200, output ?? {}, requestId);
  } catch (error) {
    return renderError(c, error, requestId, log);
  }
}
