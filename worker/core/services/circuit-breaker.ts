/**
 * The deployment circuit breaker and the failed-start back-off as pure functions (ecs-services.md
 * §2): what a stopped task of a service says about its deployment, how the consecutive failure
 * count moves, when the breaker trips, and how long the scheduler waits before launching again.
 * reconcile.ts (through deployment-failures.ts) feeds them what it observed and writes the result.
 *
 * Stage 1 counts tasks that stopped without ever reaching RUNNING. Stage 2 begins once a task of
 * the deployment reached RUNNING and counts tasks stopped for failing their health checks and,
 * beyond ECS (aws/containers-roadmap#1206), tasks that exited after RUNNING before they counted as
 * healthy: ECS lets such a crash loop run for hours without tripping. Tasks that fail to start
 * still count in stage 2. A task turning healthy resets the count unless `resetOnHealthyTask` is false.
 */
import type { DeploymentCircuitBreaker, ThresholdConfiguration } from '../../ecs-types.generated';

export type ThresholdType = ThresholdConfiguration['type'];

/** The breaker as stored: ECS's shape, resetOnHealthyTask and thresholdConfiguration (2026) included. */
export type CircuitBreakerConfig = DeploymentCircuitBreaker;

export const DEFAULT_THRESHOLD_TYPE: ThresholdType = 'BOUNDED_PERCENT';
export const DEFAULT_THRESHOLD_VALUE = 50;
/** BOUNDED_PERCENT clamps the threshold to [3, 200] (the current ECS API documentation). */
export const BOUNDED_THRESHOLD_MIN = 3;
export const BOUNDED_THRESHOLD_MAX = 200;

/** How many consecutive failures trip the breaker for a service of `desiredCount` tasks. */
export function breakerThreshold(config: CircuitBreakerConfig | undefined, desiredCount: number): number {
  const type = config?.thresholdConfiguration?.type ?? DEFAULT_THRESHOLD_TYPE;
  const value = config?.thresholdConfiguration?.value ?? DEFAULT_THRESHOLD_VALUE;
  if (type === 'COUNT') return value;
  const scaled = Math.ceil((value * desiredCount) / 100);
  if (type === 'UNBOUNDED_PERCENT') return Math.max(1, scaled);
  return Math.min(BOUNDED_THRESHOLD_MAX, Math.max(BOUNDED_THRESHOLD_MIN, scaled));
}

/** Why a task of the deployment counts as failed, or null when its stop was not its fault. */
export type TaskFailure = 'failed-to-start' | 'failed-health-checks' | 'exited-before-healthy';

export interface StoppedTaskFacts {
  /** It reached RUNNING (it has a start time). */
  reachedRunning: boolean;
  stopCode: string | null;
  /** Its health when it stopped (the agent's aggregate over essential containers). */
  healthStatus: 'HEALTHY' | 'UNHEALTHY' | 'UNKNOWN';
  /** The breaker saw it healthy before it stopped. */
  wasHealthy: boolean;
  /** It stopped because its instance was force-deregistered. */
  instanceRemoved?: boolean;
}

/**
 * Stops by the scheduler for scale-in or replacement, by a user, or by the removal of an instance are
 * not the task's fault. Stops of its own (an essential container exited, the agent could not start
 * it) are, and so is the scheduler's stop of an UNHEALTHY task.
 */
export function classifyStoppedTask(task: StoppedTaskFacts): TaskFailure | null {
  if (task.instanceRemoved) return null;
  const ownStop = task.stopCode === 'EssentialContainerExited' || task.stopCode === 'TaskFailedToStart';
  if (!task.reachedRunning) return ownStop ? 'failed-to-start' : null;
  if (task.stopCode === 'ServiceSchedulerInitiated' && task.healthStatus === 'UNHEALTHY') {
    return 'failed-health-checks';
  }
  if (ownStop && !task.wasHealthy) return 'exited-before-healthy';
  return null;
}

export interface BreakerState {
  /** Consecutive failures (ECS's Deployment.failedTasks). */
  failedTasks: number;
  /** A task of the deployment reached RUNNING: stage 2. */
  sawRunning: boolean;
}

/** What was observed of the deployment's tasks since last time, in the order it happened. */
export type BreakerObservation =
  | { kind: 'failed'; failure: TaskFailure }
  | { kind: 'running' }
  | { kind: 'healthy' };

export function advanceBreaker(
  state: BreakerState,
  observations: readonly BreakerObservation[],
  config: CircuitBreakerConfig | undefined,
): BreakerState {
  let { failedTasks, sawRunning } = state;
  const resetOnHealthy = config?.resetOnHealthyTask ?? true;
  for (const o of observations) {
    if (o.kind === 'running') sawRunning = true;
    else if (o.kind === 'healthy') {
      sawRunning = true;
      if (resetOnHealthy) failedTasks = 0;
    } else {
      // A task that failed after RUNNING proves stage 2 began, whatever was reported before.
      if (o.failure !== 'failed-to-start') sawRunning = true;
      failedTasks += 1;
    }
  }
  return { failedTasks, sawRunning };
}

/** The breaker trips when it is on and the consecutive failures reach the threshold. */
export function breakerTripped(
  state: BreakerState,
  config: CircuitBreakerConfig | undefined,
  desiredCount: number,
): boolean {
  return config?.enable === true && state.failedTasks >= breakerThreshold(config, desiredCount);
}

/** ECS's longest wait between launch attempts of a service whose tasks keep failing to start. */
export const MAX_THROTTLE_DELAY_MS = 15 * 60 * 1000;
/** The first wait (BERTH_SERVICE_THROTTLE_BASE_MS changes it; tests shorten it). */
export const DEFAULT_THROTTLE_BASE_MS = 10_000;
/** From this many consecutive failed starts on, the service says it "is unable to consistently start tasks". */
export const START_IMPAIRED_AFTER_FAILED_STARTS = 3;

/**
 * How long after the last failed start the scheduler waits before launching again: nothing before
 * the first failure, then the base doubling with every consecutive failure, up to 15 minutes.
 */
export function throttleDelayMs(consecutiveFailedStarts: number, baseMs: number): number {
  if (consecutiveFailedStarts <= 0) return 0;
  // 2^30 × any base is far past the cap; the exponent is bounded so the number stays finite.
  const factor = 2 ** Math.min(consecutiveFailedStarts - 1, 30);
  return Math.min(MAX_THROTTLE_DELAY_MS, baseMs * factor);
}
