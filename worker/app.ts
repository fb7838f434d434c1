/**
 * The Hono app, runtime-agnostic: both worker/node.ts and worker/index.ts build it with their own
 * database, coordinators and logger.
 */
import { Hono } from 'hono';
import type { ApiContext } from './api/actions';
import { handleEcsRequest } from './api/ecs-protocol';
import { streamTaskEvents } from './api/task-event-stream';

export interface AppOptions extends ApiContext {
  log: (line: string) => void;
}

export function createApp(options: AppOptions): Hono {
  const app = new Hono();
  app.get('/health', (c) => c.json({ status: 'ok' }));
  app.get('/', (c) => c.text('Berth control plane: the ECS API is served at POST / (AWS JSON 1.1).\n'));
  app.post('/', (c) => handleEcsRequest(c, options, options.log));
  app.get('/berth/v1/clusters/:cluster/task-events', (c) => streamTaskEvents(c, options));
  return app;
}
