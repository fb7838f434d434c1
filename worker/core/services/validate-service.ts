/**
 * What CreateService and UpdateService accept, with ECS's rules and an InvalidParameterException
 * naming the field for anything else. Fields of the model with no meaning in Berth are decided one
 * by one (docs/services.md lists them): refused when honouring them silently would mislead (load
 * balancers, service registries, Service Connect, awsvpc network configuration, volumes, VPC
 * Lattice, Fargate platform versions, other deployment controllers and strategies, alarms),
 * stored when harmless (enableExecuteCommand, enableECSManagedTags,
 * healthCheckGracePeriodSeconds, availabilityZoneRebalancing, which has no zones to act on).
 */
import type {
  CreateServiceRequest,
  DeploymentConfiguration,
  UpdateServiceRequest,
} from '../../ecs-types.generated';
import { invalidParameter } from '../errors';
import {
  type CircuitBreakerConfig,
  DEFAULT_THRESHOLD_TYPE,
  DEFAULT_THRESHOLD_VALUE,
  type ThresholdType,
} from './circuit-breaker';
import {
  DAEMON_MAXIMUM_PERCENT,
  DAEMON_MINIMUM_HEALTHY_PERCENT,
  DEFAULT_MAXIMUM_PERCENT,
  DEFAULT_MINIMUM_HEALTHY_PERCENT,
  type DeploymentBounds,
} from './service-record';

const SERVICE_NAME = /^[a-zA-Z0-9_-]{1,255}$/;
/** ECS's quota of tasks per service. */
export const MAX_DESIRED_COUNT = 5_000;

type CommonFields = Pick<
  CreateServiceRequest & UpdateServiceRequest,
  | 'loadBalancers'
  | 'serviceRegistries'
  | 'networkConfiguration'
  | 'serviceConnectConfiguration'
  | 'volumeConfigurations'
  | 'vpcLatticeConfigurations'
  | 'platformVersion'
  | 'deploymentController'
  | 'desiredCount'
>;

export function validateServiceName(name: string): void {
  if (!SERVICE_NAME.test(name)) {
    throw invalidParameter(
      'serviceName: up to 255 letters (uppercase and lowercase), numbers, underscores, and hyphens are allowed',
    );
  }
}

export function validateCreateFields(input: CreateServiceRequest): void {
  validateServiceName(input.serviceName);
  refuseUnsupported(input);
  if (input.role !== undefined) {
    throw invalidParameter('role: is only used with load balancers, which Berth does not have');
  }
  if (input.schedulingStrategy !== undefined && !['REPLICA', 'DAEMON'].includes(input.schedulingStrategy)) {
    throw invalidParameter(
      `schedulingStrategy: must be REPLICA or DAEMON, not '${input.schedulingStrategy}'`,
    );
  }
  if (input.launchType && input.launchType !== 'EC2' && input.launchType !== 'EXTERNAL') {
    throw invalidParameter(`launchType: ${input.launchType} is not supported by Berth; use EC2 or EXTERNAL`);
  }
  if (input.schedulingStrategy === 'DAEMON') refuseDaemonFields(input);
  else if (input.desiredCount === undefined) {
    throw invalidParameter('desiredCount: is required for a service with the REPLICA scheduling strategy');
  }
  if (!input.taskDefinition) throw invalidParameter('TaskDefinition cannot be empty.');
  if (input.clientToken !== undefined && !/^[\x21-\x7e]{1,36}$/.test(input.clientToken)) {
    throw invalidParameter('clientToken: up to 36 ASCII characters (codes 33 to 126) are allowed');
  }
}

export function validateUpdateFields(input: UpdateServiceRequest): void {
  refuseUnsupported(input);
}

/**
 * ECS's texts (ecs-services.md §1; the placement-strategy one from kayac/ecspresso#402, the capacity
 * provider one from aws/containers-roadmap#692): a daemon runs one task per matching instance, so
 * there is nothing to count, rank or spread over providers.
 */
export const daemonText = {
  desiredCount:
    'The daemon scheduling strategy does not support a desired count for services. Remove the desired count value and try again',
  maximumPercent:
    'The daemon scheduling strategy does not support values above 100 for maximumPercent on a deployment configuration. Change the maximumPercent value to 100, and try again',
  placementStrategy:
    'The daemon scheduling strategy does not support placement strategies. Remove the placement strategy and try again',
  capacityProviderStrategy:
    'Specifying a capacity provider strategy is not supported when you create a service using the DAEMON scheduling strategy.',
};

export function refuseDaemonFields(
  input: Pick<CreateServiceRequest, 'desiredCount' | 'placementStrategy' | 'capacityProviderStrategy'>,
): void {
  if (input.desiredCount !== undefined) throw invalidParameter(daemonText.desiredCount);
  if (input.placementStrategy?.length) throw invalidParameter(daemonText.placementStrategy);
  if (input.capacityProviderStrategy?.length) throw invalidParameter(daemonText.capacityProviderStrategy);
}

function refuseUnsupported(input: CommonFields): void {
  const refuse = (field: string, why: string) => {
    throw invalidParameter(`${field}: ${why}`);
  };
  if (input.loadBalancers?.length) refuse('loadBalancers', 'Berth has no load balancers');
  if (input.serviceRegistries?.length)
    refuse('serviceRegistries', 'Berth has no service discovery (Cloud Map)');
  if (input.networkConfiguration) {
    refuse('networkConfiguration', 'is for the awsvpc network mode, which Berth does not support');
  }
  if (input.serviceConnectConfiguration?.enabled) {
    refuse('serviceConnectConfiguration', 'Berth has no Service Connect');
  }
  if (input.volumeConfigurations?.length) refuse('volumeConfigurations', 'Berth has no managed EBS volumes');
  if (input.vpcLatticeConfigurations?.length) refuse('vpcLatticeConfigurations', 'Berth has no VPC Lattice');
  if (input.platformVersion !== undefined)
    refuse('platformVersion', 'is for Fargate, which Berth does not have');
  if (input.deploymentController && input.deploymentController.type !== 'ECS') {
    refuse(
      'deploymentController.type',
      `${input.deploymentController.type} is not supported by Berth; use ECS`,
    );
  }
  if (input.desiredCount !== undefined && input.desiredCount > MAX_DESIRED_COUNT) {
    refuse('desiredCount', `at most ${MAX_DESIRED_COUNT} tasks per service, got ${input.desiredCount}`);
  }
  if (input.desiredCount !== undefined && input.desiredCount < 0) {
    refuse('desiredCount', `must be at least 0, got ${input.desiredCount}`);
  }
}

const THRESHOLD_TYPES: readonly ThresholdType[] = ['COUNT', 'BOUNDED_PERCENT', 'UNBOUNDED_PERCENT'];

/** The breaker as stored, ECS's defaults filled in (resetOnHealthyTask true, BOUNDED_PERCENT 50). */
function circuitBreaker(given: CircuitBreakerConfig, field: string): CircuitBreakerConfig {
  for (const key of ['enable', 'rollback'] as const) {
    if (typeof given[key] !== 'boolean')
      throw invalidParameter(`${field}.${key}: is required (true or false)`);
  }
  if (given.resetOnHealthyTask !== undefined && typeof given.resetOnHealthyTask !== 'boolean') {
    throw invalidParameter(`${field}.resetOnHealthyTask: must be true or false`);
  }
  const threshold = given.thresholdConfiguration;
  const type = threshold?.type ?? DEFAULT_THRESHOLD_TYPE;
  const value = threshold?.value ?? DEFAULT_THRESHOLD_VALUE;
  if (!THRESHOLD_TYPES.includes(type)) {
    throw invalidParameter(
      `${field}.thresholdConfiguration.type: must be one of ${THRESHOLD_TYPES.join(', ')}, got ${type}`,
    );
  }
  const maximum = type === 'BOUNDED_PERCENT' ? 100 : 5_000;
  if (!Number.isInteger(value) || value < 1 || value > maximum) {
    throw invalidParameter(
      `${field}.thresholdConfiguration.value: must be a whole number from 1 to ${maximum} for ${type}, got ${value}`,
    );
  }
  return {
    enable: given.enable,
    rollback: given.rollback,
    resetOnHealthyTask: given.resetOnHealthyTask ?? true,
    thresholdConfiguration: { type, value },
  };
}

/** The stored configuration: the given one over `current` (or ECS's defaults for the strategy), checked. */
export function deploymentConfiguration(
  given: DeploymentConfiguration | undefined,
  current?: DeploymentConfiguration & DeploymentBounds,
  schedulingStrategy = 'REPLICA',
): DeploymentConfiguration & DeploymentBounds {
  const daemon = schedulingStrategy === 'DAEMON';
  const merged = {
    maximumPercent: daemon ? DAEMON_MAXIMUM_PERCENT : DEFAULT_MAXIMUM_PERCENT,
    minimumHealthyPercent: daemon ? DAEMON_MINIMUM_HEALTHY_PERCENT : DEFAULT_MINIMUM_HEALTHY_PERCENT,
    ...current,
    ...given,
  } as DeploymentConfiguration & DeploymentBounds;
  if (daemon && merged.maximumPercent > DAEMON_MAXIMUM_PERCENT)
    throw invalidParameter(daemonText.maximumPercent);
  const field = 'deploymentConfiguration';
  if (merged.strategy && merged.strategy !== 'ROLLING') {
    throw invalidParameter(`${field}.strategy: ${merged.strategy} is not supported by Berth; use ROLLING`);
  }
  if (merged.deploymentCircuitBreaker) {
    merged.deploymentCircuitBreaker = circuitBreaker(
      merged.deploymentCircuitBreaker as CircuitBreakerConfig,
      `${field}.deploymentCircuitBreaker`,
    );
  }
  if (merged.alarms?.enable) throw invalidParameter(`${field}.alarms: Berth has no CloudWatch alarms`);
  if (merged.lifecycleHooks?.length) {
    throw invalidParameter(`${field}.lifecycleHooks: deployment lifecycle hooks are not supported by Berth`);
  }
  if (merged.minimumHealthyPercent < 0 || merged.minimumHealthyPercent > 100) {
    throw invalidParameter(
      `${field}.minimumHealthyPercent: must be between 0 and 100, got ${merged.minimumHealthyPercent}`,
    );
  }
  if (merged.maximumPercent < 100) {
    throw invalidParameter(`${field}.maximumPercent: must be at least 100, got ${merged.maximumPercent}`);
  }
  return merged;
}
