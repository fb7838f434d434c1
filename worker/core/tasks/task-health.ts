/**
 * Task health, as ECS computes it: only essential containers count, with priority
 * UNHEALTHY > UNKNOWN > HEALTHY. A container without a health check (or not yet evaluated) is
 * UNKNOWN, so a task with none stays UNKNOWN. The health is the agent's last report: a disconnect
 * changes nothing, and a stopped container keeps what it last had.
 */
import type { TaskRow } from '../../../db/schema';
import type { HealthStatus } from '../../../protocol/agent-protocol';
import { type ContainerRecord, taskStateOf } from './task-record';

/** A container's health as recorded from reports; UNKNOWN until one says otherwise. */
export function containerHealthOf(container: ContainerRecord): HealthStatus {
  return container.healthStatus ?? 'UNKNOWN';
}

/** The aggregate over essential containers. */
export function aggregateTaskHealth(containers: readonly ContainerRecord[]): HealthStatus {
  const essential = containers.filter((c) => c.spec.essential).map(containerHealthOf);
  if (essential.includes('UNHEALTHY')) return 'UNHEALTHY';
  if (essential.length === 0 || essential.includes('UNKNOWN')) return 'UNKNOWN';
  return 'HEALTHY';
}

/** A task's health (DescribeTasks' `healthStatus`), for the API and the service scheduler. */
export function taskHealthOf(row: TaskRow): HealthStatus {
  return aggregateTaskHealth(taskStateOf(row).containers);
}
