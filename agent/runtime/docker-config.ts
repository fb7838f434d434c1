/**
 * Translates a container spec into Docker's create options the way the ECS agent does.
 */
import type Docker from 'dockerode';
import type { HealthCheckSpec, HostAccessSpec, NetworkBinding } from '../../protocol/task-frames';
import type { CreateContainerRequest } from './types';

const BYTES_PER_MIB = 1024 * 1024;
/** The Linux kernel's minimum CPU share; ECS passes unset, 0 and 1 CPU units as 2 shares. */
const MIN_CPU_SHARES = 2;
const NANOSECONDS_PER_SECOND = 1_000_000_000;

/**
 * ECS's health check as Docker's HealthConfig: durations in nanoseconds, and every value explicit,
 * because a 0 makes Docker fall back to the image's value or its own defaults (a 30 s timeout where
 * ECS's is 5 s). A start period that is off stays 0, which Docker reads as none (unless the image sets one).
 */
export function dockerHealthConfig(healthCheck: HealthCheckSpec): Docker.HealthConfig {
  return {
    Test: healthCheck.command,
    Interval: healthCheck.intervalSeconds * NANOSECONDS_PER_SECOND,
    Timeout: healthCheck.timeoutSeconds * NANOSECONDS_PER_SECOND,
    Retries: healthCheck.retries,
    StartPeriod: (healthCheck.startPeriodSeconds ?? 0) * NANOSECONDS_PER_SECOND,
  };
}

export function dockerCreateOptions(request: CreateContainerRequest): Docker.ContainerCreateOptions {
  const { spec, networkMode } = request;
  const exposedPorts: Record<string, object> = {};
  const portBindings: Record<string, { HostPort: string }[]> = {};
  for (const mapping of spec.portMappings) {
    const key = `${mapping.containerPort}/${mapping.protocol}`;
    exposedPorts[key] = {};
    // An empty HostPort asks Docker for an ephemeral port (ECS: hostPort 0 or omitted).
    if (networkMode === 'bridge') {
      const hostPort = mapping.hostPort ? String(mapping.hostPort) : '';
      portBindings[key] = [...(portBindings[key] ?? []), { HostPort: hostPort }];
    }
  }
  return {
    name: request.name,
    Image: spec.image,
    Cmd: spec.command,
    Entrypoint: spec.entryPoint,
    Env: spec.environment.map(({ name, value }) => `${name}=${value ?? ''}`),
    // The agent's labels go last so a task definition cannot impersonate another task.
    Labels: { ...spec.dockerLabels, ...request.labels },
    WorkingDir: spec.workingDirectory,
    User: spec.user,
    // Docker refuses a hostname with the host's network namespace.
    Hostname: networkMode === 'host' ? undefined : spec.hostname,
    ExposedPorts: exposedPorts,
    StopTimeout: request.stopTimeoutSeconds,
    // Without a check in the task definition an image's own HEALTHCHECK may run; ECS ignores it, and so does the agent.
    Healthcheck: spec.healthCheck && dockerHealthConfig(spec.healthCheck),
    HostConfig: {
      NetworkMode: networkMode,
      CpuShares: Math.max(MIN_CPU_SHARES, spec.cpu ?? 0),
      Memory: spec.memoryMiB === undefined ? undefined : spec.memoryMiB * BYTES_PER_MIB,
      MemoryReservation:
        spec.memoryReservationMiB === undefined ? undefined : spec.memoryReservationMiB * BYTES_PER_MIB,
      PortBindings: portBindings,
      Links: networkMode === 'bridge' && request.links.length > 0 ? request.links : undefined,
      ...hostAccessConfig(spec.hostAccess),
    },
  };
}

const DEVICE_PERMISSION_LETTERS = { read: 'r', write: 'w', mknod: 'm' } as const;

/** What the cluster's container policy allowed, as Docker's HostConfig (nothing when nothing was allowed). */
function hostAccessConfig(access: HostAccessSpec | undefined): Docker.HostConfig {
  if (!access) return {};
  return {
    Privileged: access.privileged,
    PidMode: access.pidMode,
    IpcMode: access.ipcMode,
    CapAdd: access.capAdd,
    Devices: access.devices?.map((device) => ({
      PathOnHost: device.hostPath,
      PathInContainer: device.containerPath ?? device.hostPath,
      // ECS's default is every permission, as Docker's.
      CgroupPermissions: device.permissions?.length
        ? device.permissions.map((p) => DEVICE_PERMISSION_LETTERS[p]).join('')
        : 'rwm',
    })),
    // Sources were resolved on the host and checked against the allowlist (agent/tasks/host-paths.ts).
    Binds: access.mounts?.map((m) => `${m.sourcePath}:${m.containerPath}${m.readOnly ? ':ro' : ''}`),
  };
}

type DockerPorts = Record<string, { HostIp: string; HostPort: string }[] | null> | null | undefined;

/** Docker's published ports (`{"80/tcp": [{HostIp, HostPort}]}`) as ECS network bindings. */
export function networkBindingsOf(ports: DockerPorts): NetworkBinding[] {
  const bindings: NetworkBinding[] = [];
  for (const [key, hostBindings] of Object.entries(ports ?? {})) {
    const [port, protocol] = key.split('/');
    if (protocol !== 'tcp' && protocol !== 'udp') continue;
    for (const binding of hostBindings ?? []) {
      if (!binding.HostPort) continue;
      bindings.push({
        bindIP: binding.HostIp || '0.0.0.0',
        containerPort: Number(port),
        hostPort: Number(binding.HostPort),
        protocol,
      });
    }
  }
  return bindings;
}
