/**
 * ECS's account settings, one rule each: the values ECS accepts, ECS's default for an account
 * where nobody set it, and what Berth does with it. The names are the model's `SettingName` enum
 * (a unit test keeps them equal).
 *
 * Most settings have nothing to act on in Berth (no Fargate, no awsvpc trunking, no GuardDuty):
 * they are stored and reported as ECS does, so tools that set them work. Two have an effect:
 * - the `*LongArnFormat` settings: Berth only ever issues the long ARN formats, so they are always
 *   `enabled`, and `disabled` is refused rather than stored as a promise Berth would not keep;
 * - `containerInsights`: the value a new cluster's containerInsights setting takes when
 *   CreateCluster names none.
 */
import type { Setting } from '../../ecs-types.generated';
import { invalidParameter } from '../errors';

/** The model's SettingName enum. */
export type SettingName = NonNullable<Setting['name']>;

/** Every setting name, in the model's order (ListAccountSettings answers in it). */
export const SETTING_NAMES = [
  'serviceLongArnFormat',
  'taskLongArnFormat',
  'containerInstanceLongArnFormat',
  'awsvpcTrunking',
  'containerInsights',
  'fargateFIPSMode',
  'tagResourceAuthorization',
  'fargateTaskRetirementWaitPeriod',
  'guardDutyActivate',
  'defaultLogDriverMode',
  'fargateEventWindows',
] as const satisfies readonly SettingName[];

interface SettingRule {
  values: readonly string[];
  /** ECS's value for an account where neither the principal nor the root set it. */
  defaultValue: string;
  /** `aws_managed` settings are read-only to callers (ECS's SettingType). */
  type: NonNullable<Setting['type']>;
  /** Only the root principal may set it (ECS: "You must use the root user when you set ..."). */
  rootOnly?: boolean;
  /** A value the rule refuses even though ECS knows it, with the reason. */
  refused?: { value: string; reason: string };
}

const ENABLED_DISABLED = ['enabled', 'disabled'] as const;

const longArnFormat = (resource: string): SettingRule => ({
  values: ENABLED_DISABLED,
  defaultValue: 'enabled',
  type: 'user',
  refused: {
    value: 'disabled',
    reason: `Berth always issues the long ARN format for ${resource} (with the cluster name in it); the short format can't be turned back on`,
  },
});

export const SETTING_RULES: Readonly<Record<SettingName, SettingRule>> = {
  serviceLongArnFormat: longArnFormat('services'),
  taskLongArnFormat: longArnFormat('tasks'),
  containerInstanceLongArnFormat: longArnFormat('container instances'),
  awsvpcTrunking: { values: ENABLED_DISABLED, defaultValue: 'disabled', type: 'user' },
  containerInsights: { values: ['enabled', 'disabled', 'enhanced'], defaultValue: 'disabled', type: 'user' },
  fargateFIPSMode: { values: ENABLED_DISABLED, defaultValue: 'disabled', type: 'user' },
  tagResourceAuthorization: { values: ['on', 'off'], defaultValue: 'on', type: 'user' },
  fargateTaskRetirementWaitPeriod: {
    values: ['0', '7', '14'],
    defaultValue: '7',
    type: 'user',
    rootOnly: true,
  },
  guardDutyActivate: { values: ['on', 'off'], defaultValue: 'off', type: 'aws_managed' },
  defaultLogDriverMode: { values: ['blocking', 'non-blocking'], defaultValue: 'non-blocking', type: 'user' },
  fargateEventWindows: { values: ENABLED_DISABLED, defaultValue: 'disabled', type: 'user' },
};

/** Whether a caller may write (set or delete) this setting for this principal; throws the reason if not. */
export function checkWritable(name: SettingName, principalIsRoot: boolean): SettingRule {
  const rule = SETTING_RULES[name];
  if (rule.type === 'aws_managed') {
    throw invalidParameter(`name: ${name} is managed by AWS and read-only`);
  }
  if (rule.rootOnly && !principalIsRoot) {
    throw invalidParameter(`principalArn: ${name} can only be set for the account's root principal`);
  }
  return rule;
}

/** The value as it will be stored; throws InvalidParameterException naming the accepted values. */
export function checkValue(name: SettingName, value: string): string {
  const rule = SETTING_RULES[name];
  if (!rule.values.includes(value)) {
    throw invalidParameter(`value: ${name} takes one of ${rule.values.join(', ')}; got '${value}'`);
  }
  if (rule.refused?.value === value) throw invalidParameter(`value: ${rule.refused.reason}`);
  return value;
}
