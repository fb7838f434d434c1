/**
 * Turns a registered task definition plus a RunTask call's overrides into what a task needs:
 * each container's spec for the agent, and the CPU, memory and static host ports placement reserves.
 */
import type { ContainerSpec, HealthCheckSpec, HostAccessSpec } from '../../../protocol/agent-protocol';
import type { ContainerOverride, HealthCheck, TaskOverride } from '../../ecs-types.generated';
import {
  type ContainerPolicy,
  EMPTY_CONTAINER_POLICY,
  normalizeHostPath,
} from '../clusters/container-policy';
import { invalidParameter } from '../errors';
import type { ContainerDefinition, KeyValuePair, TaskDefinition } from '../task-definitions/types';
import { containerMemoryMiB, parseTaskCpuUnits, parseTaskMemoryMiB } from '../task-definitions/validate';
import { HEALTH_CHECK_RANGES } from '../task-definitions/validate-health-check';

export interface TaskShape {
  specs: ContainerSpec[];
  cpu: number;
  memoryMiB: number;
  staticHostPorts: { port: number; protocol: 'tcp' | 'udp' }[];
  networkMode: 'bridge' | 'host' | 'none';
}

function mergeEnvironment(base: KeyValuePair[] = [], override: KeyValuePair[] = []) {
  const merged = new Map<string, string>();
  for (const kv of [...base, ...override]) if (kv.name) merged.set(kv.name, kv.value ?? '');
  return [...merged].map(([name, value]) => ({ name, value }));
}

/**
 * What the container takes from its host, already allowed by the cluster's policy (checked before
 * the shape is built); undefined when it takes nothing, so ordinary specs stay as they were.
 */
function hostAccessOf(
  def: ContainerDefinition,
  taskDefinition: TaskDefinition,
  policy: ContainerPolicy,
): HostAccessSpec | undefined {
  const access: HostAccessSpec = {};
  if (def.privileged === true) access.privileged = true;
  if (taskDefinition.pidMode === 'host') access.pidMode = 'host';
  if (taskDefinition.ipcMode === 'host') access.ipcMode = 'host';
  const capAdd = def.linuxParameters?.capabilities?.add ?? [];
  if (capAdd.length > 0) access.capAdd = capAdd;
  const devices = def.linuxParameters?.devices ?? [];
  if (devices.length > 0) {
    access.devices = devices.map((d) => ({
      hostPath: d.hostPath!,
      containerPath: d.containerPath,
      permissions: d.permissions,
    }));
  }
  const mounts = (def.mountPoints ?? []).flatMap((mount) => {
    const volume = taskDefinition.volumes.find((v) => v.name === mount.sourceVolume);
    const sourcePath = normalizeHostPath(volume?.host?.sourcePath ?? '');
    if (!sourcePath) return [];
    return [{ sourcePath, containerPath: mount.containerPath!, readOnly: mount.readOnly === true }];
  });
  if (mounts.length > 0) {
    access.mounts = mounts;
    access.allowedHostPaths = policy.hostPaths;
    access.dockerSocket = policy.allow.includes('docker-socket');
  }
  return Object.keys(access).length > 0 ? access : undefined;
}

function specOf(
  def: ContainerDefinition,
  override: ContainerOverride | undefined,
  networkMode: string,
  hostAccess: HostAccessSpec | undefined,
): ContainerSpec {
  const memoryMiB = override?.memory ?? def.memory;
  const memoryReservationMiB = override?.memoryReservation ?? def.memoryReservation;
  return {
    name: def.name!,
    image: def.image!,
    cpu: override?.cpu ?? def.cpu,
    memoryMiB,
    memoryReservationMiB,
    essential: def.essential ?? true,
    entryPoint: def.entryPoint,
    command: override?.command ?? def.command,
    environment: mergeEnvironment(def.environment, override?.environment),
    portMappings: (def.portMappings ?? []).map((p) => ({
      containerPort: p.containerPort!,
      // In host mode the container's port is the host's port.
      hostPort: networkMode === 'host' ? (p.hostPort ?? p.containerPort) : p.hostPort,
      protocol: p.protocol ?? 'tcp',
    })),
    workingDirectory: def.workingDirectory,
    user: def.user,
    hostname: def.hostname,
    stopTimeoutSeconds: def.stopTimeout,
    dependsOn: (def.dependsOn ?? []).map((d) => ({ containerName: d.containerName, condition: d.condition })),
    links: def.links,
    dockerLabels: def.dockerLabels,
    healthCheck: def.healthCheck && healthCheckSpecOf(def.healthCheck),
    ...(hostAccess && { hostAccess }),
  };
}

/** The registered health check (defaults already filled in at registration) in the agent's terms. */
function healthCheckSpecOf(healthCheck: HealthCheck): HealthCheckSpec {
  return {
    command: healthCheck.command,
    intervalSeconds: healthCheck.interval ?? HEALTH_CHECK_RANGES.interval.default,
    timeoutSeconds: healthCheck.timeout ?? HEALTH_CHECK_RANGES.timeout.default,
    retries: healthCheck.retries ?? HEALTH_CHECK_RANGES.retries.default,
    startPeriodSeconds: healthCheck.startPeriod,
  };
}

export function buildTaskShape(
  taskDefinition: TaskDefinition,
  overrides: TaskOverride,
  policy: ContainerPolicy = EMPTY_CONTAINER_POLICY,
): TaskShape {
  const networkMode = (taskDefinition.networkMode ?? 'bridge') as TaskShape['networkMode'];
  const definitions = taskDefinition.containerDefinitions;
  (overrides.containerOverrides ?? []).forEach((o, i) => {
    if (!o.name) throw invalidParameter(`overrides.containerOverrides[${i}].name: required field is missing`);
    if (!definitions.some((d) => d.name === o.name)) {
      throw invalidParameter(
        `overrides.containerOverrides[${i}].name: no container named '${o.name}' in ${taskDefinition.family}`,
      );
    }
  });
  const specs = definitions.map((def) =>
    specOf(
      def,
      overrides.containerOverrides?.find((o) => o.name === def.name),
      networkMode,
      hostAccessOf(def, taskDefinition, policy),
    ),
  );
  const containersCpu = specs.reduce((sum, s) => sum + (s.cpu ?? 0), 0);
  const containersMemory = specs.reduce(
    (sum, s) => sum + containerMemoryMiB({ memory: s.memoryMiB, memoryReservation: s.memoryReservationMiB }),
    0,
  );
  const taskCpu = overrides.cpu ?? taskDefinition.cpu;
  const taskMemory = overrides.memory ?? taskDefinition.memory;
  const staticHostPorts = specs.flatMap((s) =>
    s.portMappings.filter((p) => p.hostPort).map((p) => ({ port: p.hostPort!, protocol: p.protocol })),
  );
  return {
    specs,
    cpu: taskCpu !== undefined ? parseTaskCpuUnits(taskCpu) : containersCpu,
    memoryMiB: taskMemory !== undefined ? parseTaskMemoryMiB(taskMemory) : containersMemory,
    staticHostPorts,
    networkMode,
  };
}
