/** Port mapping rules: per mapping, per network mode, and static host ports across the task definition. */
import { clientError, invalidParameter } from '../errors';
import type { ContainerDefinition, NetworkMode, PortMapping } from './types';

const MAX_PORT = 65_535;
const PROTOCOLS = ['tcp', 'udp'];

const isPort = (value: number, min: number) => Number.isInteger(value) && value >= min && value <= MAX_PORT;

export function validatePortMappings(containers: ContainerDefinition[], networkMode: NetworkMode): void {
  // A static host port can be bound once per host, so two mappings of one task can't share it.
  const staticPortOwners = new Map<string, string>();
  containers.forEach((container, i) => {
    const mappings = container.portMappings ?? [];
    const path = `containerDefinitions[${i}].portMappings`;
    if (mappings.length > 0 && networkMode === 'none') {
      throw clientError(`${path}: Port mappings are not allowed when networkMode=none.`);
    }
    mappings.forEach((mapping, j) => {
      const staticPort = validateMapping(mapping, `${path}[${j}]`, container.name!, networkMode);
      if (staticPort === undefined) return;
      const key = `${staticPort}/${mapping.protocol ?? 'tcp'}`;
      const owner = staticPortOwners.get(key);
      if (owner !== undefined) {
        throw clientError(
          `${path}[${j}].hostPort: Host port ${key} is already mapped by container '${owner}' ` +
            'in this task definition; a host port can be mapped only once per task.',
        );
      }
      staticPortOwners.set(key, container.name!);
    });
  });
}

/** Returns the static host port the mapping binds, or undefined when Docker picks one. */
function validateMapping(
  mapping: PortMapping,
  path: string,
  containerName: string,
  networkMode: NetworkMode,
): number | undefined {
  const { containerPort, hostPort, protocol } = mapping;
  if (containerPort == null || !isPort(containerPort, 1)) {
    throw clientError(
      `${path}.containerPort: Invalid 'containerPort' setting for container '${containerName}'. ` +
        `Expected 1 to ${MAX_PORT}, got ${containerPort ?? 'nothing'}.`,
    );
  }
  if (hostPort != null && !isPort(hostPort, 0)) {
    throw clientError(
      `${path}.hostPort: Invalid 'hostPort' setting for container '${containerName}'. ` +
        `Expected 0 to ${MAX_PORT}, got ${hostPort}.`,
    );
  }
  if (protocol != null && !PROTOCOLS.includes(protocol)) {
    throw invalidParameter(`${path}.protocol: '${protocol}' is not one of ${PROTOCOLS.join(', ')}`);
  }
  if (networkMode === 'host') {
    if (hostPort != null && hostPort !== containerPort) {
      throw clientError(
        `${path}.hostPort: When networkMode=host, the host ports and container ports in port mappings ` +
          `must match (hostPort ${hostPort}, containerPort ${containerPort}).`,
      );
    }
    return containerPort;
  }
  // In bridge mode an omitted or zero hostPort asks Docker for an ephemeral port.
  return hostPort ? hostPort : undefined;
}
