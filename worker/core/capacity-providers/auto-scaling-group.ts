/**
 * ECS's `autoScalingGroupProvider`, which CreateCapacityProvider requires. Berth has no Auto
 * Scaling groups: a provider's capacity is whatever instances carry its name, so Berth uses none
 * of these settings. It keeps them, with ECS's documented defaults filled in, and describes them
 * back, so tools that read them (Terraform, CloudFormation-style drift checks) see what they wrote.
 * `managedScaling` scales nothing and `managedTerminationProtection` / `managedDraining` protect
 * and drain nothing; draining a host is UpdateContainerInstancesState's job.
 */
import type {
  AutoScalingGroupProvider,
  AutoScalingGroupProviderUpdate,
  ManagedScaling,
} from '../../ecs-types.generated';
import { invalidParameter } from '../errors';

export type { AutoScalingGroupProvider, AutoScalingGroupProviderUpdate };

/** ECS's defaults for what a caller leaves out (the model documents each one). */
const MANAGED_SCALING_DEFAULTS: Required<ManagedScaling> = {
  status: 'DISABLED',
  targetCapacity: 100,
  minimumScalingStepSize: 1,
  maximumScalingStepSize: 10_000,
  instanceWarmupPeriod: 300,
};

/** The provider as stored and described: ECS's defaults filled in, the step sizes checked. */
export function withEcsDefaults(provider: AutoScalingGroupProvider, field: string): AutoScalingGroupProvider {
  const managedScaling = { ...MANAGED_SCALING_DEFAULTS, ...provider.managedScaling };
  if (managedScaling.minimumScalingStepSize > managedScaling.maximumScalingStepSize) {
    throw invalidParameter(
      `${field}.managedScaling.minimumScalingStepSize: must not exceed maximumScalingStepSize (${managedScaling.maximumScalingStepSize})`,
    );
  }
  return {
    ...provider,
    managedScaling,
    managedTerminationProtection: provider.managedTerminationProtection ?? 'DISABLED',
  };
}
