/**
 * The Workers runtime for the shared scenarios: the control plane bundled as for `wrangler deploy`,
 * run in workerd by Miniflare on a free port, its database a local file behind the project's libSQL
 * HTTP server. Join tokens are minted by Node straight in that database, as an operator would.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type RunningWorkersControlPlane, startWorkersControlPlane } from '../../cli/start-workers';
import { mintJoinToken } from '../../worker/core/join-tokens/join-tokens';
import { ecsClientFor } from './control-plane';
import { createTestKey } from './credentials';
import { type RunningRuntime, type RuntimeHarness, testKeyLimits } from './runtimes';

export interface RunningWorkersRuntime extends RunningRuntime {
  plane: RunningWorkersControlPlane;
  /** Every line the Worker and its Durable Objects have logged so far. */
  workerLog(): string[];
}

export async function startWorkersRuntime(
  vars: Parameters<typeof startWorkersControlPlane>[0]['vars'] = {},
): Promise<RunningWorkersRuntime> {
  const dataDir = mkdtempSync(join(tmpdir(), 'berth-workers-test-'));
  const lines: string[] = [];
  const plane = await startWorkersControlPlane({
    dataDir,
    port: 0,
    // Tests fire calls faster than any client would: no per-key limits unless a test sets them.
    vars: { BERTH_API_RATE_PER_KEY: '0', BERTH_EVENT_STREAMS_PER_KEY: '0', ...vars },
    onWorkerLog: (line) => {
      lines.push(line);
      if (process.env.BERTH_TEST_WORKER_LOG) console.log(`[worker] ${line}`);
    },
  });
  const credentials = await createTestKey(plane.deps, plane.serverKey);
  const ecs = ecsClientFor(plane.url, credentials);
  return {
    plane,
    endpoint: plane.url,
    ecs,
    credentials,
    workerLog: () => [...lines],
    mintJoinToken: (cluster) => mintJoinToken(plane.deps, cluster),
    deps: plane.deps,
    close: async () => {
      ecs.destroy();
      await plane.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export const workersRuntime: RuntimeHarness = {
  name: 'workers',
  start: (options = {}) =>
    startWorkersRuntime({
      ...(options.heartbeatIntervalMs
        ? { BERTH_HEARTBEAT_INTERVAL_MS: String(options.heartbeatIntervalMs) }
        : {}),
      ...(options.taskHealthyAfterMs !== undefined
        ? { BERTH_TASK_HEALTHY_AFTER_MS: String(options.taskHealthyAfterMs) }
        : {}),
      ...(options.agentDisconnectGraceMs !== undefined
        ? { BERTH_AGENT_GRACE_MS: String(options.agentDisconnectGraceMs) }
        : {}),
      ...(options.inactiveServiceRetentionMs !== undefined
        ? { BERTH_INACTIVE_SERVICE_RETENTION_MS: String(options.inactiveServiceRetentionMs) }
        : {}),
      ...(options.execIdleTimeoutMs !== undefined
        ? { BERTH_EXEC_IDLE_TIMEOUT_MS: String(options.execIdleTimeoutMs) }
        : {}),
      ...(options.serviceThrottleBaseMs !== undefined
        ? { BERTH_SERVICE_THROTTLE_BASE_MS: String(options.serviceThrottleBaseMs) }
        : {}),
      BERTH_API_RATE_PER_KEY: String(testKeyLimits(options).requestsPerSecond),
      BERTH_API_BURST_PER_KEY: String(testKeyLimits(options).burst),
      BERTH_EVENT_STREAMS_PER_KEY: String(testKeyLimits(options).streams),
      ...(options.hookDebounceMs !== undefined
        ? { BERTH_HOOK_DEBOUNCE_MS: String(options.hookDebounceMs) }
        : {}),
      ...(options.eventDeliveryRetryForMs !== undefined
        ? { BERTH_EVENT_DELIVERY_RETRY_FOR_MS: String(options.eventDeliveryRetryForMs) }
        : {}),
      ...(options.eventDeliveryFirstRetryMs !== undefined
        ? { BERTH_EVENT_DELIVERY_FIRST_RETRY_MS: String(options.eventDeliveryFirstRetryMs) }
        : {}),
    }),
};
