import type { TaskRow } from '../../../db/schema';
import type {
  ContainerSpec,
  ContainerStatus,
  DesiredTask,
  HealthStatus,
  NetworkBinding,
  StopCode,
  TaskStatus,
} from '../../../protocol/agent-protocol';
import type { Tag, Task, TaskOverride } from '../../ecs-types.generated';
import { epochSeconds } from '../time';
import { aggregateTaskHealth, containerHealthOf } from './task-health';

/** One container of a task as stored in tasks.containers_json: ECS's Container shape plus the agent's spec. */
export interface ContainerRecord {
  containerArn: string;
  name: string;
  image: string;
  lastStatus: ContainerStatus;
  exitCode?: number;
  reason?: string;
  runtimeId?: string;
  networkBindings: NetworkBinding[];
  /** The agent's last report of a container with a health check; unset means UNKNOWN (task-health.ts). */
  healthStatus?: HealthStatus;
  /** When the agent's reports turned it HEALTHY, for Berth's minimum healthy time; unset when not HEALTHY. */
  healthySinceMs?: number;
  /** The image digest the agent reported (`sha256:…`); the first one reported stays. */
  imageDigest?: string;
  spec: ContainerSpec;
}

/** The mutable part of a task that agent reports and stop requests change. */
export interface TaskState {
  lastStatus: TaskStatus;
  desiredStatus: 'RUNNING' | 'STOPPED';
  generation: number;
  reportSeq: number;
  version: number;
  containers: ContainerRecord[];
  stopCode: StopCode | null;
  stoppedReason: string | null;
  startedAtMs: number | null;
  pullStartedAtMs: number | null;
  pullStoppedAtMs: number | null;
  stoppingAtMs: number | null;
  stoppedAtMs: number | null;
  executionStoppedAtMs: number | null;
}

export function taskStateOf(row: TaskRow): TaskState {
  return {
    lastStatus: row.lastStatus as TaskStatus,
    desiredStatus: row.desiredStatus as 'RUNNING' | 'STOPPED',
    generation: row.generation,
    reportSeq: row.reportSeq,
    version: row.version,
    containers: JSON.parse(row.containersJson) as ContainerRecord[],
    stopCode: row.stopCode as StopCode | null,
    stoppedReason: row.stoppedReason,
    startedAtMs: row.startedAtMs,
    pullStartedAtMs: row.pullStartedAtMs,
    pullStoppedAtMs: row.pullStoppedAtMs,
    stoppingAtMs: row.stoppingAtMs,
    stoppedAtMs: row.stoppedAtMs,
    executionStoppedAtMs: row.executionStoppedAtMs,
  };
}

/** The columns to write for a changed TaskState. */
export function taskStateColumns(state: TaskState) {
  const { containers, ...rest } = state;
  return { ...rest, containersJson: JSON.stringify(containers) };
}

/** What the agent is told about a task: the desired state, with every container's spec. */
export function desiredTaskOf(row: TaskRow): DesiredTask {
  const state = taskStateOf(row);
  return {
    taskArn: row.arn,
    generation: state.generation,
    desiredStatus: state.desiredStatus,
    family: row.family,
    revision: row.revision,
    networkMode: row.networkMode as DesiredTask['networkMode'],
    containers: state.containers.map((c) => c.spec),
    stoppedReason: state.stoppedReason ?? undefined,
  };
}

const stringOrUndefined = (value: number | undefined) => (value === undefined ? undefined : String(value));

/** The ECS Task shape (JSON 1.1: timestamps in epoch seconds, cpu and memory as strings). */
export function toEcsTask(row: TaskRow, include: { tags: boolean }): Task {
  const state = taskStateOf(row);
  return {
    taskArn: row.arn,
    clusterArn: row.clusterArn,
    taskDefinitionArn: row.taskDefinitionArn,
    containerInstanceArn: row.containerInstanceArn ?? undefined,
    overrides: JSON.parse(row.overridesJson) as TaskOverride,
    lastStatus: state.lastStatus,
    desiredStatus: state.desiredStatus,
    cpu: String(row.cpu),
    memory: String(row.memoryMiB),
    containers: state.containers.map((c) => ({
      containerArn: c.containerArn,
      taskArn: row.arn,
      name: c.name,
      image: c.image,
      imageDigest: c.imageDigest,
      runtimeId: c.runtimeId,
      lastStatus: c.lastStatus,
      exitCode: c.exitCode,
      reason: c.reason,
      networkBindings: c.networkBindings,
      networkInterfaces: [],
      cpu: stringOrUndefined(c.spec.cpu ?? 0),
      memory: stringOrUndefined(c.spec.memoryMiB),
      memoryReservation: stringOrUndefined(c.spec.memoryReservationMiB),
      healthStatus: containerHealthOf(c),
      // ECS Exec's readiness: the exec agent runs while the container does (it is Berth's agent).
      managedAgents: row.enableExecuteCommand
        ? [
            {
              name: 'ExecuteCommandAgent' as const,
              lastStatus:
                c.lastStatus === 'RUNNING' ? 'RUNNING' : c.lastStatus === 'STOPPED' ? 'STOPPED' : 'PENDING',
              lastStartedAt: c.lastStatus === 'PENDING' ? undefined : epochSeconds(state.startedAtMs),
            },
          ]
        : undefined,
    })),
    enableExecuteCommand: row.enableExecuteCommand,
    startedBy: row.startedBy ?? undefined,
    version: state.version,
    stoppedReason: state.stoppedReason ?? undefined,
    stopCode: state.stopCode ?? undefined,
    healthStatus: aggregateTaskHealth(state.containers),
    connectivity: state.lastStatus === 'RUNNING' ? 'CONNECTED' : undefined,
    createdAt: epochSeconds(row.createdAtMs),
    startedAt: epochSeconds(state.startedAtMs),
    pullStartedAt: epochSeconds(state.pullStartedAtMs),
    pullStoppedAt: epochSeconds(state.pullStoppedAtMs),
    stoppingAt: epochSeconds(state.stoppingAtMs),
    stoppedAt: epochSeconds(state.stoppedAtMs),
    executionStoppedAt: epochSeconds(state.executionStoppedAtMs),
    group: row.group,
    launchType: row.launchType,
    attachments: [],
    tags: include.tags ? (JSON.parse(row.tagsJson) as Tag[]) : undefined,
  };
}
