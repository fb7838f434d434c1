/**
 * The Hono app, runtime-agnostic: both hosts (worker/hosts/node and worker/hosts/workers) build it
 * with their own database, rooms and logger.
 */
import { Hono } from 'hono';
import { serveAccessKeys } from './api/access-keys-api';
import type { ApiContext } from './api/actions';
import { allowedHostsFor } from './api/allowed-hosts';
import { authenticate, describeBerthCall, describeEcsCall } from './api/auth/authenticate';
import { capRequestBodies } from './api/body-limit';
import { handleEcsRequest } from './api/ecs-protocol';
import { EXEC_SESSION_PATH, handleGetExecSession } from './api/exec-sessions-api';
import { refuseUnlistedHosts } from './api/host-guard';
import { handleServiceControl, SERVICE_CONTROL_PATH } from './api/service-controls';
import { streamTaskEvents } from './api/task-event-stream';
import { handleTaskExec, handleTaskLogs, TASK_EXEC_PATH, TASK_LOGS_PATH } from './api/task-streams';
import { DEFAULT_MAX_REQUEST_BODY_BYTES } from './core/deps';

export interface AppOptions extends ApiContext {
  log: (line: string) => void;
  /** Encrypts secrets at rest (access key secrets); SigV4 verification opens them with it. */
  serverKey: Uint8Array;
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
  // Every API call is signed (SigV4) and authorized before a handler runs; /health and the agent
  // socket (which proves an instance credential of its own) are not API calls.
  const { deps, serverKey, log } = options;
  app.post('/', authenticate(deps, serverKey, describeEcsCall, log));
  app.use('/berth/v1/*', authenticate(deps, serverKey, describeBerthCall, log));
  app.post('/', (c) => handleEcsRequest(c, options, options.log));
  app.get('/berth/v1/clusters/:cluster/task-events', (c) => streamTaskEvents(c, options));
  app.post(TASK_EXEC_PATH, (c) => handleTaskExec(c, options));
  app.get(TASK_LOGS_PATH, (c) => handleTaskLogs(c, options));
  app.get(EXEC_SESSION_PATH, (c) => handleGetExecSession(c, options));
  serveAccessKeys(app, options);
  app.post(SERVICE_CONTROL_PATH, (c) => handleServiceControl(c, options));
  return app;
}
