/**
 * Test data, built once: container specs, task states and rows, container-instance rows, placement
 * instances and requests. Each builder returns a complete, valid value; a test overrides only what
 * it is about, so the literal says what matters.
 */
import type { ContainerInstanceRow, TaskRow } from '../../db/schema';
import type { ContainerSpec, ObservedTask } from '../../protocol';
import type { PlacementInstance, PlacementRequest } from '../../worker/core/placement';
import type { ContainerRecord, TaskState } from '../../worker/core/tasks/task-record';

export const TEST_CLUSTER_ARN = 'arn:aws:ecs:us-east-1:000000000000:cluster/default';
export const TEST_NOW_MS = Date.parse('2026-01-01T00:00:00Z');

export const instanceArnFor = (id: string, cluster = 'default') =>
  `arn:aws:ecs:us-east-1:000000000000:container-instance/${cluster}/${id}`;
export const taskArnFor = (id: string, cluster = 'default') =>
  `arn:aws:ecs:us-east-1:000000000000:task/${cluster}/${id}`;

export function aContainerSpec(overrides: Partial<ContainerSpec> = {}): ContainerSpec {
  return {
    name: 'main',
    image: 'busybox',
    essential: true,
    environment: [],
    portMappings: [],
    dependsOn: [],
    ...overrides,
  };
}

export function aContainerRecord(overrides: Partial<ContainerRecord> = {}): ContainerRecord {
  const spec = overrides.spec ?? aContainerSpec({ name: overrides.name ?? 'main' });
  return {
    containerArn: `arn:aws:ecs:us-east-1:000000000000:container/default/t/${spec.name}`,
    name: spec.name,
    image: spec.image,
    lastStatus: 'PENDING',
    networkBindings: [],
    spec,
    ...overrides,
  };
}

export function aTaskState(overrides: Partial<TaskState> = {}): TaskState {
  return {
    lastStatus: 'PENDING',
    desiredStatus: 'RUNNING',
    generation: 1,
    reportSeq: -1,
    version: 1,
    containers: [aContainerRecord()],
    stopCode: null,
    stoppedReason: null,
    startedAtMs: null,
    pullStartedAtMs: null,
    pullStoppedAtMs: null,
    stoppingAtMs: null,
    stoppedAtMs: null,
    executionStoppedAtMs: null,
    ...overrides,
  };
}

export function aTaskRow(overrides: Partial<TaskRow> & { containers?: ContainerRecord[] } = {}): TaskRow {
  const { containers, ...columns } = overrides;
  return {
    arn: taskArnFor('t1'),
    clusterArn: TEST_CLUSTER_ARN,
    containerInstanceArn: instanceArnFor('i1'),
    taskDefinitionArn: 'arn:aws:ecs:us-east-1:000000000000:task-definition/web:1',
    family: 'web',
    revision: 1,
    networkMode: 'bridge',
    group: 'family:web',
    startedBy: null,
    launchType: 'EC2',
    lastStatus: 'PENDING',
    desiredStatus: 'RUNNING',
    generation: 1,
    reportSeq: -1,
    version: 1,
    cpu: 0,
    memoryMiB: 64,
    containersJson: JSON.stringify(containers ?? [aContainerRecord()]),
    overridesJson: '{}',
    tagsJson: '[]',
    stopCode: null,
    stoppedReason: null,
    createdAtMs: TEST_NOW_MS,
    startedAtMs: null,
    pullStartedAtMs: null,
    pullStoppedAtMs: null,
    stoppingAtMs: null,
    stoppedAtMs: null,
    executionStoppedAtMs: null,
    clientToken: null,
    enableExecuteCommand: false,
    ...columns,
  };
}

export function anInstanceRow(
  id: string,
  overrides: Partial<ContainerInstanceRow> = {},
): ContainerInstanceRow {
  return {
    arn: instanceArnFor(id),
    clusterArn: TEST_CLUSTER_ARN,
    instanceId: id,
    hostname: id,
    status: 'ACTIVE',
    agentConnected: true,
    agentVersion: '1.0.0',
    dockerVersion: '27.0.0',
    registeredCpu: 4096,
    registeredMemoryMiB: 8192,
    attributesJson: '[]',
    customAttributesJson: '[]',
    reservedPortsJson: '[22,2375,2376,51678,51679]',
    tagsJson: '[]',
    credentialSha256: null,
    registeredByTokenSha256: null,
    credentialRevokedAtMs: null,
    registeredAtMs: TEST_NOW_MS,
    lastSeenAtMs: TEST_NOW_MS,
    version: 1,
    ...overrides,
  };
}

export function aPlacementInstance(
  id: string,
  overrides: Partial<PlacementInstance> = {},
): PlacementInstance {
  return {
    arn: instanceArnFor(id),
    id,
    status: 'ACTIVE',
    agentConnected: true,
    agentVersion: '1.0.0',
    registeredAtMs: TEST_NOW_MS,
    attributes: { 'ecs.os-type': 'linux' },
    remainingCpu: 4096,
    remainingMemoryMiB: 8192,
    usedHostPorts: [],
    runningTasksCount: 0,
    pendingTasksCount: 0,
    taskGroups: [],
    ...overrides,
  };
}

/** Always picks the first of the tied candidates, so only the strategies decide. */
export const firstOfTies = () => 0;

export function aPlacementRequest(overrides: Partial<PlacementRequest> = {}): PlacementRequest {
  return {
    count: 1,
    cpu: 256,
    memoryMiB: 512,
    hostPorts: [],
    group: 'family:web',
    strategies: [],
    constraints: [],
    random: firstOfTies,
    ...overrides,
  };
}

export function anObservedTask(
  lastStatus: ObservedTask['lastStatus'],
  overrides: Partial<ObservedTask> = {},
): ObservedTask {
  const containerStatus =
    lastStatus === 'STOPPED' ? 'STOPPED' : lastStatus === 'RUNNING' ? 'RUNNING' : 'PENDING';
  return {
    taskArn: taskArnFor('t1'),
    generation: 1,
    lastStatus,
    containers: [{ name: 'main', lastStatus: containerStatus }],
    ...overrides,
  };
}

/** `count` distinct tags, `<prefix>0`=`0`, `<prefix>1`=`1`, ...: for limits and races. */
export const someTags = (prefix: string, count: number): { key: string; value: string }[] =>
  Array.from({ length: count }, (_, i) => ({ key: `${prefix}${i}`, value: String(i) }));
