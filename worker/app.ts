/**
 * The Hono app, runtime-agnostic: both hosts (worker/hosts/node and worker/hosts/workers) build it
 * with their own database, rooms and logger.
 */
import { Hono } from 'hono';
import type { ApiContext } from './api/actions';
import { allowedHostsFor } from './api/allowed-hosts';
import { capRequestBodies } from './api/body-limit';
import { handleEcsRequest } from './api/ecs-protocol';
import { refuseUnlistedHosts } from './api/host-guard';
import { handleServiceControl, SERVICE_CONTROL_PATH } from './api/service-controls';
import { streamTaskEvents } from './api/task-event-stream';
import { DEFAULT_MAX_REQUEST_BODY_BYTES } from './core/deps';

export interface AppOptions extends ApiContext {
  log: (line: string) => void;
}

export function createApp(options: AppOptions): Hono {
  const { config } = options.deps;
  const app = new Hono();
  // Registered first, so they guard every route, including those an entry adds later (the agent
  // connect path on Workers).
  app.use(refuseUnlistedHosts(allowedHostsFor(config), options.log));
  app.use(capRequestBodies(config.maxRequestBodyBytes ?? DEFAULT_MAX_REQUEST_BODY_BYTES, options.log));
  app.get('/health', (c) => c.json({ status: 'ok' }));
  app.get('/', (c) => c.text('Berth control plane: the ECS API is served at POST / (AWS JSON 1.1).\n'));
  app.post('/', (c) => handleEcsRequest(c, options, options.log));
  app.get('/berth/v1/clusters/:cluster/task-events', (c) => streamTaskEvents(c, options));
  app.post(SERVICE_CONTROL_PATH, (c) => handleServiceControl(c, options));
  return app;
}
