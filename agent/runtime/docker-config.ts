/**
 * Translates a container spec into Docker's create options the way the ECS agent does.
 */
import type Docker from 'dockerode';
import type { NetworkBinding } from '../../protocol/task-frames';
import type { CreateContainerRequest } from './types';

const BYTES_PER_MIB = 1024 * 1024;
/** The Linux kernel's minimum CPU share; ECS passes unset, 0 and 1 CPU units as 2 shares. */
const MIN_CPU_SHARES = 2;

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
    HostConfig: {
      NetworkMode: networkMode,
      CpuShares: Math.max(MIN_CPU_SHARES, spec.cpu ?? 0),
      Memory: spec.memoryMiB === undefined ? undefined : spec.memoryMiB * BYTES_PER_MIB,
      MemoryReservation:
        spec.memoryReservationMiB === undefined ? undefined : spec.memoryReservationMiB * BYTES_PER_MIB,
      PortBindings: portBindings,
      Links: networkMode === 'bridge' && request.links.length > 0 ? request.links : undefined,
    },
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
