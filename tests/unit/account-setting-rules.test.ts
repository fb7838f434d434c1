import { describe, expect, it } from 'vitest';
import model from '../../worker/api/model/ecs-model.generated.json';
import {
  checkValue,
  checkWritable,
  SETTING_NAMES,
  SETTING_RULES,
} from '../../worker/core/account-settings/setting-rules';
import { EcsError } from '../../worker/core/errors';

const errorOf = (run: () => unknown): EcsError => {
  try {
    run();
  } catch (error) {
    if (error instanceof EcsError) return error;
    throw error;
  }
  throw new Error('expected an EcsError, but nothing was thrown');
};

describe('account setting rules', () => {
  it("name exactly the model's SettingName enum, in its order", () => {
    expect(SETTING_NAMES).toEqual(model.shapes.SettingName.enum);
  });

  it("give every setting a default that is one of its own values and that Berth doesn't refuse", () => {
    for (const name of SETTING_NAMES) {
      const rule = SETTING_RULES[name];
      expect(rule.values, name).toContain(rule.defaultValue);
      expect(rule.refused?.value, name).not.toBe(rule.defaultValue);
    }
  });

  it('refuse turning off any long ARN format, saying that Berth always issues long ARNs', () => {
    for (const name of [
      'serviceLongArnFormat',
      'taskLongArnFormat',
      'containerInstanceLongArnFormat',
    ] as const) {
      expect(checkValue(name, 'enabled')).toBe('enabled');
      const error = errorOf(() => checkValue(name, 'disabled'));
      expect(error.errorName).toBe('InvalidParameterException');
      expect(error.message).toMatch(/always issues the long ARN format/);
    }
  });

  it('refuse a value the setting does not take, naming the ones it does', () => {
    const error = errorOf(() => checkValue('fargateTaskRetirementWaitPeriod', '3'));
    expect(error.errorName).toBe('InvalidParameterException');
    expect(error.message).toContain('0, 7, 14');
  });

  it('refuse writes to the AWS-managed setting and root-only settings for anyone but the root', () => {
    expect(errorOf(() => checkWritable('guardDutyActivate', true)).message).toMatch(/read-only/);
    expect(errorOf(() => checkWritable('fargateTaskRetirementWaitPeriod', false)).message).toMatch(/root/);
    expect(checkWritable('fargateTaskRetirementWaitPeriod', true).rootOnly).toBe(true);
  });
});
