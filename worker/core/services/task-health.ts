/**
 * When a service task counts as healthy, in one place so container health checks plug in here:
 * a task whose `healthStatus` is HEALTHY counts at once, UNHEALTHY never, and one without a
 * verdict (no health check, or not yet evaluated) counts `healthyAfterMs` after it reached
 * RUNNING, as ECS counts a task without health check 40 s after RUNNING.
 */
export type TaskHealth = 'HEALTHY' | 'UNHEALTHY' | 'UNKNOWN';

/** ECS's rule for tasks without a container health check (BERTH_TASK_HEALTHY_AFTER_MS changes it). */
export const TASK_HEALTHY_AFTER_RUNNING_MS = 40_000;

export interface HealthInput {
  lastStatus: string;
  startedAtMs: number | null;
  healthStatus?: TaskHealth;
}

export function taskHealthOf(task: HealthInput, nowMs: number, healthyAfterMs: number): TaskHealth {
  if (task.lastStatus !== 'RUNNING') return 'UNKNOWN';
  if (task.healthStatus === 'HEALTHY' || task.healthStatus === 'UNHEALTHY') return task.healthStatus;
  if (task.startedAtMs !== null && nowMs >= task.startedAtMs + healthyAfterMs) return 'HEALTHY';
  return 'UNKNOWN';
}

/** A task row's health verdict as the agent reported it, where the task record carries one. */
export function reportedHealthOf(row: object): TaskHealth | undefined {
  const value = (row as { healthStatus?: unknown }).healthStatus;
  return value === 'HEALTHY' || value === 'UNHEALTHY' || value === 'UNKNOWN' ? value : undefined;
}
