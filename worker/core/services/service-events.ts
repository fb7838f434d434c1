/**
 * A service's event log, as ECS keeps it: newest first, at most 100, and a message equal to the
 * newest one is suppressed unless 6 hours have passed (ECS suppresses a duplicate "until its cause
 * is resolved or 6 h pass"; a different message in between means the cause changed).
 */
import type { ServiceEvent } from '../../ecs-types.generated';

export const MAX_SERVICE_EVENTS = 100;
export const DUPLICATE_EVENT_SUPPRESSION_MS = 6 * 60 * 60 * 1000;

export function appendServiceEvents(
  events: readonly ServiceEvent[],
  messages: readonly string[],
  nowMs: number,
  newId: () => string,
): ServiceEvent[] {
  let log = [...events];
  for (const message of messages) {
    const newest = log[0];
    const newestAtMs = typeof newest?.createdAt === 'number' ? newest.createdAt * 1000 : 0;
    if (newest?.message === message && nowMs - newestAtMs < DUPLICATE_EVENT_SUPPRESSION_MS) continue;
    log = [{ id: newId(), createdAt: nowMs / 1000, message }, ...log].slice(0, MAX_SERVICE_EVENTS);
  }
  return log;
}

/** ECS's texts (ecs-services.md §2, "Event log"). */
export const serviceEventText = {
  steadyState: (service: string) => `(service ${service}) has reached a steady state.`,
  started: (service: string, taskIds: string[]) =>
    `(service ${service}) has started ${taskIds.length} tasks: ${taskIds.map((id) => `(task ${id})`).join(' ')}.`,
  stopped: (service: string, taskIds: string[]) =>
    `(service ${service}) has stopped ${taskIds.length} running tasks: ${taskIds.map((id) => `(task ${id})`).join(' ')}.`,
  failedHealthChecks: (service: string, taskId: string) =>
    `(service ${service}) (task ${taskId}) failed container health checks.`,
  deploymentCompleted: (service: string, deploymentId: string) =>
    `(service ${service}) (deployment ${deploymentId}) deployment completed.`,
  unableToPlace: (service: string) =>
    `(service ${service}) was unable to place a task because no container instance met all of its requirements.`,
  progressDeadlineFailed: (service: string, deploymentId: string) =>
    `(service ${service}) (deployment ${deploymentId}) deployment failed: no progress within the progress deadline.`,
  paused: (service: string, deploymentId: string) =>
    `(service ${service}) (deployment ${deploymentId}) deployment paused.`,
  resumed: (service: string, deploymentId: string) =>
    `(service ${service}) (deployment ${deploymentId}) deployment resumed.`,
  serviceStopped: (service: string) => `(service ${service}) was stopped; its definition is kept.`,
  startedAgain: (service: string, desiredCount: number) =>
    `(service ${service}) was started again with desiredCount ${desiredCount}.`,
  deploymentFailed: (service: string, deploymentId: string) =>
    `(service ${service}) (deployment ${deploymentId}) deployment failed: tasks failed to start.`,
  rollingBack: (service: string, toDeploymentId: string) =>
    `(service ${service}) rolling back to deployment ${toDeploymentId}.`,
  unableToStartConsistently: (service: string) =>
    `(service ${service}) is unable to consistently start tasks successfully.`,
  throttled: (service: string) =>
    `(service ${service}) operations are being throttled. Will try again later.`,
  blocked: (service: string) =>
    `(service ${service}) was unable to stop or start tasks during a deployment because of the service deployment configuration. Update the minimumHealthyPercent or maximumPercent value and try again.`,
};

export const rolloutReason = {
  inProgress: (deploymentId: string) => `ECS deployment ${deploymentId} in progress.`,
  completed: (deploymentId: string) => `ECS deployment ${deploymentId} completed.`,
  progressDeadline: (deadlineMs: number) =>
    `Berth progress deadline: the deployment made no progress for ${deadlineMs / 1000} s.`,
  circuitBreaker: 'ECS deployment circuit breaker: tasks failed to start.',
  /** The reason EventBridge gives a rollback's deployment ([DG] ecs_cwe_events.md). */
  breakerRollingBack: (toDeploymentId: string) =>
    `ECS deployment circuit breaker: rolling back to deploymentId ${toDeploymentId}.`,
  // Berth's texts where ECS documents none.
  stopRequestedRollback: (toDeploymentId: string) =>
    `StopServiceDeployment: rolling back to deploymentId ${toDeploymentId}.`,
  aborted: (deploymentId: string) =>
    `ECS deployment ${deploymentId} stopped by StopServiceDeployment (ABORT).`,
};
