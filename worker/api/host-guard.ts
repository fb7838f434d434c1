/** Refuses requests addressed to a `Host` the control plane is not configured for (see allowed-hosts.ts). */
import type { MiddlewareHandler } from 'hono';
import { isAllowedHost } from './allowed-hosts';
import { FrontDoorRefusal, renderError } from './ecs-protocol';

export function refuseUnlistedHosts(
  allowed: readonly string[],
  log: (line: string) => void,
): MiddlewareHandler {
  return async (c, next) => {
    const host = c.req.header('Host');
    if (isAllowedHost(host, allowed)) return next();
    const refusal = new FrontDoorRefusal(
      'AccessDeniedException',
      // The configured names are not listed: the caller may be a hostile page.
      `Requests for host '${host?.slice(0, 256) ?? '(none)'}' are refused: this control plane answers only to ` +
        'its loopback names and to the names in BERTH_ALLOWED_HOSTS.',
      403,
    );
    const response = renderError(c, refusal, crypto.randomUUID(), log);
    // The body (if any) is not read, so the connection can't carry another request.
    response.headers.set('Connection', 'close');
    return response;
  };
}
