/**
 * The Berth API's JSON routes share two things: reading a body that must be a JSON object (an
 * empty body is `{}`), and answering with the handler's result as JSON or with the ECS error JSON
 * for what it threw (renderError: a client's mistake is a 4xx naming the field, never a 500).
 */
import type { Context } from 'hono';
import { invalidParameter } from '../core/errors';
import { renderError } from './ecs-protocol';

/** The request body as a JSON object, or InvalidParameterException naming the body. */
export async function jsonObject(c: Context): Promise<Record<string, unknown>> {
  let parsed: unknown;
  try {
    parsed = JSON.parse((await c.req.text()) || '{}');
  } catch {
    throw invalidParameter('body: not valid JSON');
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw invalidParameter('body: must be a JSON object');
  }
  return parsed as Record<string, unknown>;
}

/** Wraps a route: its result as JSON, or what it threw as the ECS error JSON. */
export function jsonAnswer(log: (line: string) => void) {
  return (run: (c: Context) => Promise<unknown>) => async (c: Context) => {
    try {
      return c.json((await run(c)) as object);
    } catch (error) {
      return renderError(c, error, crypto.randomUUID(), log);
    }
  };
}
