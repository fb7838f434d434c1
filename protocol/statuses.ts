/**
 * The one lifecycle order of tasks and containers, and why a task stopped. A recorded status never
 * moves to a lower rank (see worker/core/tasks/transitions.ts and the agent's task controller).
 */
import { z } from 'zod';

export const TASK_STATUSES = [
  'PROVISIONING',
  'PENDING',
  'ACTIVATING',
  'RUNNING',
  'DEACTIVATING',
  'STOPPING',
  'DEPROVISIONING',
  'STOPPED',
] as const;
export const taskStatusSchema = z.enum(TASK_STATUSES);
export type TaskStatus = z.infer<typeof taskStatusSchema>;

export const CONTAINER_STATUSES = ['PENDING', 'RUNNING', 'STOPPED'] as const;
export const containerStatusSchema = z.enum(CONTAINER_STATUSES);
export type ContainerStatus = z.infer<typeof containerStatusSchema>;

export const STOP_CODES = [
  'TaskFailedToStart',
  'EssentialContainerExited',
  'UserInitiated',
  'ServiceSchedulerInitiated',
  'SpotInterruption',
  'TerminationNotice',
] as const;
export const stopCodeSchema = z.enum(STOP_CODES);
export type StopCode = z.infer<typeof stopCodeSchema>;

/** Rank of a task status in the one lifecycle order; a recorded status never moves to a lower rank. */
export function taskStatusRank(status: TaskStatus): number {
  return TASK_STATUSES.indexOf(status);
}

export function containerStatusRank(status: ContainerStatus): number {
  return CONTAINER_STATUSES.indexOf(status);
}
