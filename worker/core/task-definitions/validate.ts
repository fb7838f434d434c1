/**
 * The semantic rules ECS applies in RegisterTaskDefinition, after the protocol layer has checked
 * types against the model. Rules ECS itself enforces throw ClientException with ECS's wording;
 * malformed values and features Berth does not run throw InvalidParameterException; settings that
 * reach into the host are only checked for shape here: each cluster's container policy decides
 * at launch (validate-host-access.ts, clusters/container-policy.ts). Every message
 * starts with the offending field's path.
 */
import { clientError, invalidParameter } from '../errors';
import { containerMemoryMiB, effectiveEssential, parseTaskCpuUnits, parseTaskMemoryMiB } from './task-size';
import type { ContainerDefinition, NetworkMode, RegisterTaskDefinitionInput } from './types';
import { NAME_PATTERN, NAME_RULE, validateContainer } from './validate-container';
import { validateDependencies } from './validate-dependencies';
import {
  refuseCapabilityDrops,
  refuseDockerSecurityOptions,
  validateHostAccessShape,
} from './validate-host-access';
import { validatePortMappings } from './validate-ports';

export type { ContainerMemorySettings } from './task-size';
export { containerMemoryMiB, effectiveEssential, parseTaskCpuUnits, parseTaskMemoryMiB };

export const MAX_CONTAINERS_PER_TASK_DEFINITION = 10;
const NETWORK_MODES: readonly NetworkMode[] = ['bridge', 'host', 'awsvpc', 'none'];

export function validateTaskDefinitionInput(input: RegisterTaskDefinitionInput): void {
  validateFamily(input.family);
  const networkMode = validateNetworkMode(input.networkMode);
  const taskCpuUnits = input.cpu == null ? undefined : parseTaskCpuUnits(input.cpu);
  const taskMemoryMiB = input.memory == null ? undefined : parseTaskMemoryMiB(input.memory);
  const containers = validateContainerList(input.containerDefinitions);

  const containerNames = new Set<string>();
  containers.forEach((container, i) => {
    const path = `containerDefinitions[${i}]`;
    if (typeof container !== 'object' || container === null || Array.isArray(container)) {
      throw invalidParameter(`${path}: expected an object`);
    }
    if (typeof container.name === 'string' && containerNames.has(container.name)) {
      throw clientError(
        `${path}.name: Container names must be unique within a Task Definition ('${container.name}' is used twice).`,
      );
    }
    if (typeof container.name === 'string') containerNames.add(container.name);
  });
  validateHostAccessShape({ ...input, networkMode, containerDefinitions: containers });
  refuseDockerSecurityOptions(containers);
  refuseCapabilityDrops(containers);
  containers.forEach((container, i) => {
    validateContainer(container, {
      path: `containerDefinitions[${i}]`,
      networkMode,
      taskMemoryMiB,
      containerNames,
    });
  });
  if (!containers.some(effectiveEssential)) {
    throw clientError(
      'containerDefinitions: Task definition does not have any essential container. ' +
        "At least one container must be essential (a container without 'essential' is).",
    );
  }
  validatePortMappings(containers, networkMode);
  validateDependencies(containers);
  validateTaskSize(containers, taskCpuUnits, taskMemoryMiB);
}

function validateFamily(family: unknown): void {
  if (typeof family !== 'string' || family === '') throw clientError('family: required field is missing');
  if (!NAME_PATTERN.test(family)) throw clientError(`family: Invalid family '${family}': ${NAME_RULE}.`);
}

function validateNetworkMode(networkMode: string | undefined | null): NetworkMode {
  const mode = networkMode ?? 'bridge';
  if (!NETWORK_MODES.includes(mode as NetworkMode)) {
    throw invalidParameter(`networkMode: '${mode}' is not one of ${NETWORK_MODES.join(', ')}`);
  }
  if (mode === 'awsvpc') {
    throw invalidParameter(
      'networkMode: awsvpc is not supported by Berth (it needs an elastic network interface per task); ' +
        'use bridge or none.',
    );
  }
  return mode as NetworkMode;
}

function validateContainerList(containers: unknown): ContainerDefinition[] {
  if (!Array.isArray(containers)) throw clientError('containerDefinitions: required field is missing');
  if (containers.length === 0) throw clientError('containerDefinitions: Container list cannot be empty.');
  if (containers.length > MAX_CONTAINERS_PER_TASK_DEFINITION) {
    throw clientError(
      `containerDefinitions: A task definition can have at most ${MAX_CONTAINERS_PER_TASK_DEFINITION} ` +
        `containers, got ${containers.length}.`,
    );
  }
  return containers as ContainerDefinition[];
}

/** With task-level sizes, the containers must fit inside them. */
function validateTaskSize(
  containers: ContainerDefinition[],
  taskCpuUnits: number | undefined,
  taskMemoryMiB: number | undefined,
): void {
  if (taskMemoryMiB !== undefined) {
    containers.forEach((container, i) => {
      if (container.memory != null && container.memory > taskMemoryMiB) {
        throw clientError(
          `containerDefinitions[${i}].memory: Invalid 'memory' setting for container '${container.name}'. ` +
            `It must not exceed the task memory (${taskMemoryMiB} MiB), got ${container.memory}.`,
        );
      }
    });
    const reservedMiB = containers.reduce((sum, container) => sum + containerMemoryMiB(container), 0);
    if (reservedMiB > taskMemoryMiB) {
      throw clientError(
        `memory: The containers reserve ${reservedMiB} MiB in total, more than the task memory of ${taskMemoryMiB} MiB.`,
      );
    }
  }
  if (taskCpuUnits !== undefined) {
    const containerCpuUnits = containers.reduce((sum, container) => sum + (container.cpu ?? 0), 0);
    if (containerCpuUnits > taskCpuUnits) {
      throw clientError(
        `cpu: The containers reserve ${containerCpuUnits} CPU units in total, more than the task cpu of ${taskCpuUnits}.`,
      );
    }
  }
}
