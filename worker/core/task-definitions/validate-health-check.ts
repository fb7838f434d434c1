/**
 * A container's `healthCheck`, with ECS's ranges and defaults (the model's HealthCheck shape). The
 * defaults are written into the registered revision, so DescribeTaskDefinition echoes them as ECS
 * does; `startPeriod` stays unset when it was not given (ECS: "off by default").
 */
import type { HealthCheck } from '../../ecs-types.generated';
import { clientError } from '../errors';
import type { ContainerDefinition } from './types';

interface SecondsRange {
  min: number;
  max: number;
  /** ECS's default; undefined when the setting is off unless given. */
  default: number | undefined;
  unit: 'seconds' | 'retries';
}

export const HEALTH_CHECK_RANGES = {
  interval: { min: 5, max: 300, default: 30, unit: 'seconds' },
  timeout: { min: 2, max: 60, default: 5, unit: 'seconds' },
  retries: { min: 1, max: 10, default: 3, unit: 'retries' },
  startPeriod: { min: 0, max: 300, default: undefined, unit: 'seconds' },
} as const satisfies Record<Exclude<keyof HealthCheck, 'command'>, SecondsRange>;

const COMMAND_KINDS = ['CMD', 'CMD-SHELL'];

export function validateHealthCheck(container: ContainerDefinition, path: string): void {
  const healthCheck = container.healthCheck;
  if (healthCheck == null) return;
  const prefix = `${path}.healthCheck`;
  const invalid = (field: string, detail: string) =>
    clientError(
      `${prefix}.${field}: Invalid 'healthCheck.${field}' setting for container '${container.name}'. ${detail}`,
    );
  const { command } = healthCheck;
  if (!Array.isArray(command) || command.length === 0) {
    throw clientError(`${prefix}.command: required field is missing`);
  }
  if (!COMMAND_KINDS.includes(command[0])) {
    throw invalid('command', `It must start with CMD or CMD-SHELL, got '${command[0]}'.`);
  }
  if (command.length < 2 || command[1] === '') {
    throw invalid('command', `${command[0]} must be followed by the command to run.`);
  }
  if (command[0] === 'CMD-SHELL' && command.length !== 2) {
    throw invalid('command', 'CMD-SHELL takes the whole shell command as one string.');
  }
  for (const [field, range] of Object.entries(HEALTH_CHECK_RANGES)) {
    const value = healthCheck[field as keyof typeof HEALTH_CHECK_RANGES];
    if (value == null) continue;
    if (!Number.isInteger(value) || value < range.min || value > range.max) {
      throw invalid(field, `Expected ${range.min} to ${range.max} ${range.unit}, got ${value}.`);
    }
  }
}

/** The health check as registered: ECS's defaults filled in for interval, timeout and retries. */
export function healthCheckWithDefaults(healthCheck: HealthCheck): HealthCheck {
  return {
    ...healthCheck,
    interval: healthCheck.interval ?? HEALTH_CHECK_RANGES.interval.default,
    timeout: healthCheck.timeout ?? HEALTH_CHECK_RANGES.timeout.default,
    retries: healthCheck.retries ?? HEALTH_CHECK_RANGES.retries.default,
  };
}
