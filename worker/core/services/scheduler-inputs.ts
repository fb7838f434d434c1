/**
 * What the service scheduler reads of a task row, in one place: reconcile.ts builds its tasks from
 * it, and a batch of agent reports runs the scheduler only when it changed one of these for some
 * task (most reports change only pull times or container ids, which no decision depends on).
 */
import type { TaskRow } from '../../../db/schema';
import { serviceTaskHealthOf, type TaskHealth } from './task-health';

export interface SchedulerInputs {
  deploymentId: string;
  instanceArn: string | null;
  lastStatus: string;
  desiredStatus: string;
  startedAtMs: number | null;
  healthStatus: TaskHealth;
  healthChecked: boolean;
  /** When it turned HEALTHY (Berth's minimum healthy time counts from here). */
  healthySinceMs: number | null;
}

export function schedulerInputsOf(row: TaskRow): SchedulerInputs {
  return {
    deploymentId: row.startedBy ?? '',
    instanceArn: row.containerInstanceArn,
    lastStatus: row.lastStatus,
    desiredStatus: row.desiredStatus,
    startedAtMs: row.startedAtMs,
    ...serviceTaskHealthOf(row),
  };
}

export function schedulerInputsChanged(before: TaskRow, after: TaskRow): boolean {
  const a = schedulerInputsOf(before);
  const b = schedulerInputsOf(after);
  return (Object.keys(a) as (keyof SchedulerInputs)[]).some((key) => a[key] !== b[key]);
}
