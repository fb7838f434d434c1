/**
 * A control-plane runtime the shared scenarios run against. Each runtime starts a real control
 * plane; the scenarios then use real agents, real Docker and the real AWS SDK against it.
 */
import type { ECSClient } from '@aws-sdk/client-ecs';
import type { CoreDeps } from '../../worker/core/deps';
import { mintJoinToken } from '../../worker/core/join-tokens/join-tokens';
import { startTestControlPlane } from './control-plane';
import type { TestCredentials } from './credentials';

export interface RunningRuntime {
  endpoint: string;
  ecs: ECSClient;
  /** The admin key `ecs` signs with, for raw HTTP calls (tests/helpers/credentials.ts). */
  credentials: TestCredentials;
  mintJoinToken(cluster: string): Promise<string>;
  /** The control plane's database as the test process sees it, to check what was recorded. */
  deps: CoreDeps;
  close(): Promise<void>;
}

export interface RuntimeOptions {
  /** Shortens heartbeats so link-failure tests finish quickly. */
  heartbeatIntervalMs?: number;
  /** Shortens the 40 s after which a service task without health check counts as healthy. */
  taskHealthyAfterMs?: number;
  /** Shortens how long an agent whose socket closed still counts as connected. */
  agentDisconnectGraceMs?: number;
  /** Shortens the hour an INACTIVE service stays described before it is purged. */
  inactiveServiceRetentionMs?: number;
  /** Shortens the first wait of a service's failed-start back-off (default 10 s). */
  serviceThrottleBaseMs?: number;
  /** Shortens ExecuteCommand's 20-minute idle timeout. */
  execIdleTimeoutMs?: number;
  /** Shortens how long an event webhook delivery is retried (default 24 hours). */
  eventDeliveryRetryForMs?: number;
  /** Shortens the first wait before a failed event webhook delivery is retried (default 5 s). */
  eventDeliveryFirstRetryMs?: number;
  /** Shortens how long deploy-hook deliveries for one service are gathered into one deployment (2 s). */
  hookDebounceMs?: number;
  /**
   * Per-key request rate, burst and open event streams. Tests default to no limits (scenarios fire
   * calls faster than any client would); the limits scenario sets them.
   */
  keyLimits?: { requestsPerSecond: number; burst: number; streams: number };
}

/** The key limits a test runtime starts with: `options.keyLimits`, else none. */
export function testKeyLimits(options: RuntimeOptions) {
  return options.keyLimits ?? { requestsPerSecond: 0, burst: 1, streams: 0 };
}

export interface RuntimeHarness {
  name: string;
  start(options?: RuntimeOptions): Promise<RunningRuntime>;
}

export const nodeRuntime: RuntimeHarness = {
  name: 'node',
  async start(options = {}) {
    const test = await startTestControlPlane({
      config: {
        heartbeatIntervalMs: options.heartbeatIntervalMs,
        taskHealthyAfterMs: options.taskHealthyAfterMs,
        ...(options.agentDisconnectGraceMs !== undefined
          ? { agentDisconnectGraceMs: options.agentDisconnectGraceMs }
          : {}),
        inactiveServiceRetentionMs: options.inactiveServiceRetentionMs,
        serviceThrottleBaseMs: options.serviceThrottleBaseMs,
        apiRequestsPerSecondPerKey: testKeyLimits(options).requestsPerSecond,
        apiBurstPerKey: testKeyLimits(options).burst,
        eventStreamsPerKey: testKeyLimits(options).streams,
        hookDebounceMs: options.hookDebounceMs,
        eventDeliveryRetryForMs: options.eventDeliveryRetryForMs,
        eventDeliveryFirstRetryMs: options.eventDeliveryFirstRetryMs,
        execIdleTimeoutMs: options.execIdleTimeoutMs,
      },
    });
    return {
      endpoint: test.plane.url,
      ecs: test.ecs,
      credentials: test.credentials,
      mintJoinToken: (cluster) => mintJoinToken(test.plane.deps, cluster),
      deps: test.plane.deps,
      close: test.close,
    };
  },
};
