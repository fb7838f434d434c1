/** The rules ECS applies to one container definition on its own (name, image, resources, env, links, health check). */
import { clientError } from '../errors';
import { MIN_MEMORY_MIB } from './task-size';
import type { ContainerDefinition, NetworkMode } from './types';
import { validateHealthCheck } from './validate-health-check';

/** Container names and task definition families share ECS's alphabet and length. */
export const NAME_PATTERN = /^[A-Za-z0-9_-]{1,255}$/;
export const NAME_RULE =
  'up to 255 letters (uppercase and lowercase), numbers, underscores, and hyphens are allowed';
const MAX_IMAGE_NAME_CHARS = 255;
/** The container cpu range ECS accepts (10 vCPUs). */
const MAX_CONTAINER_CPU_UNITS = 10_240;
/** ECS caps stopTimeout at 120 seconds. */
const MAX_STOP_TIMEOUT_SECONDS = 120;

export interface ContainerContext {
  /** `containerDefinitions[i]`, the prefix of every error path. */
  path: string;
  networkMode: NetworkMode;
  taskMemoryMiB: number | undefined;
  containerNames: ReadonlySet<string>;
}

export function validateContainer(container: ContainerDefinition, context: ContainerContext): void {
  validateName(container, context.path);
  validateImage(container, context.path);
  validateMemory(container, context);
  validateCpuAndTimeouts(container, context.path);
  validateEnvironment(container, context.path);
  validateLinks(container, context);
  validateHealthCheck(container, context.path);
}

function validateName(container: ContainerDefinition, path: string): void {
  const { name } = container;
  if (typeof name !== 'string' || name === '') {
    throw clientError(`${path}.name: Container.name should not be null or empty.`);
  }
  if (!NAME_PATTERN.test(name))
    throw clientError(`${path}.name: Invalid container name '${name}': ${NAME_RULE}.`);
}

function validateImage(container: ContainerDefinition, path: string): void {
  const { image } = container;
  if (typeof image !== 'string' || image === '') {
    throw clientError(`${path}.image: Container.image should not be null or empty.`);
  }
  if (/\s/.test(image))
    throw clientError(`${path}.image: Invalid image '${image}': whitespace is not allowed.`);
  // The 255-character limit covers the repository and tag; a digest after '@' is not counted.
  const repositoryAndTag = image.split('@')[0];
  if (repositoryAndTag.length > MAX_IMAGE_NAME_CHARS) {
    throw clientError(
      `${path}.image: Invalid image for container '${container.name}': at most ${MAX_IMAGE_NAME_CHARS} ` +
        `characters are allowed before any @digest, got ${repositoryAndTag.length}.`,
    );
  }
}

function validateMemory(container: ContainerDefinition, { path, taskMemoryMiB }: ContainerContext): void {
  const { name, memory, memoryReservation } = container;
  for (const [field, value] of [
    ['memory', memory],
    ['memoryReservation', memoryReservation],
  ] as const) {
    if (value != null && value < MIN_MEMORY_MIB) {
      throw clientError(
        `${path}.${field}: Invalid '${field}' setting for container '${name}'. ` +
          `The minimum is ${MIN_MEMORY_MIB} MiB, got ${value}.`,
      );
    }
  }
  // The model's documentation says "greater than", but ECS registers memory == memoryReservation and
  // Docker accepts it, so only a reservation above the hard limit is rejected.
  if (memory != null && memoryReservation != null && memoryReservation > memory) {
    throw clientError(
      `${path}.memoryReservation: Invalid 'memoryReservation' setting for container '${name}'. ` +
        `It must not exceed 'memory' (${memory} MiB), got ${memoryReservation}.`,
    );
  }
  if (memory == null && memoryReservation == null && taskMemoryMiB === undefined) {
    throw clientError(
      `${path}.memory: Invalid setting for container '${name}'. ` +
        `At least one of 'memory' or 'memoryReservation' must be specified.`,
    );
  }
}

function validateCpuAndTimeouts(container: ContainerDefinition, path: string): void {
  const { name, cpu, stopTimeout } = container;
  if (cpu != null && (cpu < 0 || cpu > MAX_CONTAINER_CPU_UNITS)) {
    throw clientError(
      `${path}.cpu: Invalid 'cpu' setting for container '${name}'. ` +
        `Expected 0 to ${MAX_CONTAINER_CPU_UNITS} CPU units, got ${cpu}.`,
    );
  }
  if (stopTimeout != null && (stopTimeout < 0 || stopTimeout > MAX_STOP_TIMEOUT_SECONDS)) {
    throw clientError(
      `${path}.stopTimeout: Invalid 'stopTimeout' setting for container '${name}'. ` +
        `Expected 0 to ${MAX_STOP_TIMEOUT_SECONDS} seconds, got ${stopTimeout}.`,
    );
  }
}

function validateEnvironment(container: ContainerDefinition, path: string): void {
  (container.environment ?? []).forEach((variable, i) => {
    const name = variable?.name;
    if (typeof name !== 'string' || name === '') {
      throw clientError(`${path}.environment[${i}].name: Environment variable names must not be empty.`);
    }
    // Docker passes variables as NAME=value, so '=' in a name would silently split differently.
    if (name.includes('=') || name.includes('\0')) {
      throw clientError(`${path}.environment[${i}].name: Invalid environment variable name '${name}'.`);
    }
  });
}

function validateLinks(container: ContainerDefinition, context: ContainerContext): void {
  const links = container.links ?? [];
  if (links.length === 0) return;
  if (context.networkMode !== 'bridge') {
    throw clientError(
      `${context.path}.links: Links are only supported when networkMode=bridge, not ${context.networkMode}.`,
    );
  }
  links.forEach((link, i) => {
    // A link is `name` or `name:alias`; the name must be another container of this task definition.
    const target = link.split(':')[0];
    if (target === container.name || !context.containerNames.has(target)) {
      throw clientError(
        `${context.path}.links[${i}]: Invalid link '${link}': no other container named '${target}' in this task definition.`,
      );
    }
  });
}
