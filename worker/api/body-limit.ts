/**
 * The cap on request bodies. Without it one request could make the control plane buffer hundreds
 * of megabytes (the whole body is read into a string before it is parsed). Hono's bodyLimit refuses
 * a body whose Content-Length is over the cap before reading any of it, and counts the bytes of a
 * chunked body as they arrive, stopping at the cap; the runtime enforces Content-Length framing, so
 * a body can't be longer than it declared. What is left unread is drained or dropped by the server
 * (@hono/node-server drains at most 64 MiB for 500 ms, then closes the connection).
 */
import type { MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { FrontDoorRefusal, renderError } from './ecs-protocol';

export function capRequestBodies(maxBytes: number, log: (line: string) => void): MiddlewareHandler {
  return bodyLimit({
    maxSize: maxBytes,
    onError: (c) => {
      const refusal = new FrontDoorRefusal(
        'ClientException',
        `The request body is larger than this control plane's limit of ${maxBytes} bytes ` +
          '(BERTH_MAX_REQUEST_BODY_BYTES).',
        413,
      );
      const response = renderError(c, refusal, crypto.randomUUID(), log);
      // The rest of the body is never read, so the connection can't carry another request: say
      // so, or a client that pools connections sends its next request into one being closed.
      response.headers.set('Connection', 'close');
      return response;
    },
  });
}
