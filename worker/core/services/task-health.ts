/**
 * When a service task counts as healthy, in one place so container health checks plug in here:
 * a task whose `healthStatus` is HEALTHY counts at once, UNHEALTHY never, and one without a
 * verdict (no health check, or not yet evaluated) counts `healthyAfterMs` after it reached
 * RUNNING, as ECS counts a task without health check 40 s after RUNNING.
 */
import type { TaskRow } from '../../../db/schema';
import { aggregateTaskHealth } from '../tasks/task-health';
import { taskStateOf } from '../tasks/task-record';

export type TaskHealth = 'HEALTHY' | 'UNHEALTHY' | 'UNKNOWN';

/** ECS's rule for tasks without a container health check (BERTH_TASK_HEALTHY_AFTER_MS changes it). */
export const TASK_HEALTHY_AFTER_RUNNING_MS = 40_000;

export interface HealthInput {
  lastStatus: string;
  startedAtMs: number | null;
  healthStatus?: TaskHealth;
  /** An essential container has a health check: only HEALTHY counts. */
  healthChecked?: boolean;
}

export function taskHealthOf(task: HealthInput, nowMs: number, healthyAfterMs: number): TaskHealth {
  if (task.lastStatus !== 'RUNNING') return 'UNKNOWN';
  if (task.healthStatus === 'HEALTHY' || task.healthStatus === 'UNHEALTHY') return task.healthStatus;
  if (task.healthChecked) return 'UNKNOWN';
  if (task.startedAtMs !== null && nowMs >= task.startedAtMs + healthyAfterMs) return 'HEALTHY';
  return 'UNKNOWN';
}

/**
 * A task row's health as the scheduler reads it: the agent's aggregate over essential containers
 * (worker/core/tasks/task-health.ts), and whether any essential container has a health check, in
 * which case the task counts only once HEALTHY, never by age.
 */
export function serviceTaskHealthOf(row: TaskRow): {
  healthStatus: TaskHealth;
  healthChecked: boolean;
  healthySinceMs: number | null;
} {
  const containers = taskStateOf(row).containers;
  const checked = containers.filter((c) => c.spec.essential && c.spec.healthCheck !== undefined);
  const healthStatus = aggregateTaskHealth(containers);
  // The task is HEALTHY since its last checked container turned HEALTHY.
  const since = checked.map((c) => c.healthySinceMs ?? 0);
  return {
    healthStatus,
    healthChecked: checked.length > 0,
    healthySinceMs: healthStatus === 'HEALTHY' && since.length > 0 ? Math.max(...since) : null,
  };
}
