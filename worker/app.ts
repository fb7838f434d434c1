/**
 * The Hono app, runtime-agnostic: both hosts (worker/hosts/node and worker/hosts/workers) build it
 * with their own database, rooms and logger.
 */
import { Hono } from 'hono';
import { serveAccessKeys } from './api/access-keys-api';
import type { ApiContext } from './api/actions';
import { serveAgentAdmin } from './api/agent-admin-api';
import { allowedHostsFor } from './api/allowed-hosts';
import { serveAuditLog } from './api/audit-api';
import { auditCalls, type SourceAddressOf } from './api/audit-calls';
import { authenticate, describeBerthCall, describeEcsCall } from './api/auth/authenticate';
import { KeyLimits, keyLimitSettings } from './api/auth/key-limits';
import { capRequestBodies } from './api/body-limit';
import { serveContainerPolicy } from './api/container-policy-api';
import { handleEcsRequest } from './api/ecs-protocol';
import { EXEC_SESSION_PATH, handleGetExecSession } from './api/exec-sessions-api';
import { describeHookCalls, serveHooks } from './api/hooks-api';
import { refuseUnlistedHosts } from './api/host-guard';
import { handleServiceControl, SERVICE_CONTROL_PATH } from './api/service-controls';
import { serveSubscriptions } from './api/subscriptions-api';
import { streamTaskEvents } from './api/task-event-stream';
import { handleTaskExec, handleTaskLogs, TASK_EXEC_PATH, TASK_LOGS_PATH } from './api/task-streams';
import { AuditWriter } from './core/audit/audit-log';
import { DEFAULT_MAX_REQUEST_BODY_BYTES } from './core/deps';

export interface AppOptions extends ApiContext {
  log: (line: string) => void;
  /** Encrypts secrets at rest (access key secrets); SigV4 verification opens them with it. */
  serverKey: Uint8Array;
  /**
   * Per-key request rates and stream counts. A host that builds an app per request (Workers) passes
   * one that outlives it; otherwise the app makes its own.
   */
  keyLimits?: KeyLimits;
  /**
   * Where a request came from, for the audit log: the host says what it trusts (Node: the socket's
   * remote address; Workers: CF-Connecting-IP, set by Cloudflare's edge).
   */
  sourceAddressOf?: SourceAddressOf;
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
  const keyLimits = options.keyLimits ?? new KeyLimits(keyLimitSettings(config), deps.now);
  // Audit outside authentication: it sees refusals too, and writes before the answer leaves.
  const audit = new AuditWriter(deps, log);
  const sourceAddressOf = options.sourceAddressOf ?? (() => undefined);
  app.post('/', auditCalls(deps, audit, describeEcsCall, sourceAddressOf, log));
  app.post('/', authenticate(deps, serverKey, keyLimits, describeEcsCall, log));
  const describeBerth = describeHookCalls(deps, describeBerthCall);
  app.use('/berth/v1/*', auditCalls(deps, audit, describeBerth, sourceAddressOf, log));
  app.use('/berth/v1/*', authenticate(deps, serverKey, keyLimits, describeBerth, log));
  app.post('/', (c) => handleEcsRequest(c, options, options.log));
  app.get('/berth/v1/clusters/:cluster/task-events', (c) => streamTaskEvents(c, options, keyLimits));
  app.post(TASK_EXEC_PATH, (c) => handleTaskExec(c, options));
  app.get(TASK_LOGS_PATH, (c) => handleTaskLogs(c, options));
  app.get(EXEC_SESSION_PATH, (c) => handleGetExecSession(c, options));
  serveAccessKeys(app, options);
  serveAuditLog(app, options);
  serveAgentAdmin(app, options);
  serveSubscriptions(app, options);
  app.post(SERVICE_CONTROL_PATH, (c) => handleServiceControl(c, options));
  serveContainerPolicy(app, options);
  // Deploy hooks: managed under /berth/v1/hooks; delivered to /hooks/<id>, authenticated by the
  // provider's signature or URL token instead of SigV4.
  serveHooks(app, options);
  return app;
}
