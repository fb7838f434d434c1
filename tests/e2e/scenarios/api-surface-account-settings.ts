/**
 * Account settings through the AWS SDK: PutAccountSetting, PutAccountSettingDefault,
 * ListAccountSettings and DeleteAccountSetting per principal, with the effect they have in Berth.
 */
import {
  CreateClusterCommand,
  DeleteAccountSettingCommand,
  ListAccountSettingsCommand,
  type ListAccountSettingsCommandInput,
  PutAccountSettingCommand,
  PutAccountSettingDefaultCommand,
  type Setting,
  type SettingName,
} from '@aws-sdk/client-ecs';
import { describe, expect, it } from 'vitest';
import model from '../../../worker/api/model/ecs-model.generated.json';
import { errorOf } from '../../helpers/ecs-errors';
import type { ApiSurface } from './api-surface-context';

const ACCOUNT = '000000000000';
const ROOT = `arn:aws:iam::${ACCOUNT}:root`;
const USER = `arn:aws:iam::${ACCOUNT}:user/ops/alice`;
/** The model's SettingName enum, in its order. */
const SETTING_NAMES = model.shapes.SettingName.enum as SettingName[];

export function defineAccountSettingScenarios(surface: ApiSurface) {
  const describeCluster = (name: string) => surface.describeCluster(name);

  describe('account settings', () => {
    /** Every page of ListAccountSettings (ECS answers at most 10 settings a page). */
    const list = async (input: ListAccountSettingsCommandInput = {}) => {
      const settings: Setting[] = [];
      let nextToken: string | undefined;
      do {
        const page = await surface.ecs.send(new ListAccountSettingsCommand({ ...input, nextToken }));
        expect(page.settings!.length).toBeLessThanOrEqual(10);
        settings.push(...page.settings!);
        nextToken = page.nextToken;
      } while (nextToken);
      return settings;
    };
    const effective = async (principalArn?: string) => {
      const settings = await list({ effectiveSettings: true, principalArn });
      return (name: SettingName) => settings.find((s) => s.name === name);
    };

    it("reports ECS's defaults for every setting as effective settings, the long ARN formats enabled", async () => {
      const settings = await list({ effectiveSettings: true });
      expect(settings.map((s) => s.name)).toEqual(SETTING_NAMES);
      for (const name of ['serviceLongArnFormat', 'taskLongArnFormat', 'containerInstanceLongArnFormat']) {
        expect(settings.find((s) => s.name === name)).toEqual({
          name,
          value: 'enabled',
          principalArn: ROOT,
          type: 'user',
        });
      }
      expect(settings.find((s) => s.name === 'guardDutyActivate')).toMatchObject({ type: 'aws_managed' });
      // Nobody set anything, so there is nothing of the root's own to list.
      expect(await list()).toEqual([]);
    });

    it("lets a principal's own setting override the account default, and DeleteAccountSetting hand it back", async () => {
      const defaulted = await surface.ecs.send(
        new PutAccountSettingDefaultCommand({ name: 'awsvpcTrunking', value: 'enabled' }),
      );
      expect(defaulted.setting).toEqual<Setting>({
        name: 'awsvpcTrunking',
        value: 'enabled',
        principalArn: ROOT,
        type: 'user',
      });
      expect((await effective(USER))('awsvpcTrunking')).toMatchObject({
        value: 'enabled',
        principalArn: ROOT,
      });

      const own = await surface.ecs.send(
        new PutAccountSettingCommand({ name: 'awsvpcTrunking', value: 'disabled', principalArn: USER }),
      );
      expect(own.setting).toMatchObject({ value: 'disabled', principalArn: USER });
      expect((await effective(USER))('awsvpcTrunking')).toMatchObject({
        value: 'disabled',
        principalArn: USER,
      });
      expect(await list({ principalArn: USER })).toEqual([
        { name: 'awsvpcTrunking', value: 'disabled', principalArn: USER, type: 'user' },
      ]);
      expect(await list({ name: 'awsvpcTrunking' })).toEqual([defaulted.setting]);

      const deleted = await surface.ecs.send(
        new DeleteAccountSettingCommand({ name: 'awsvpcTrunking', principalArn: USER }),
      );
      expect(deleted.setting).toMatchObject({
        name: 'awsvpcTrunking',
        value: 'disabled',
        principalArn: USER,
      });
      expect((await effective(USER))('awsvpcTrunking')).toMatchObject({
        value: 'enabled',
        principalArn: ROOT,
      });
      await surface.ecs.send(new DeleteAccountSettingCommand({ name: 'awsvpcTrunking' }));
      expect((await effective())('awsvpcTrunking')).toMatchObject({ value: 'disabled', principalArn: ROOT });
    });

    it('applies PutAccountSetting without principalArn to the root principal', async () => {
      const put = await surface.ecs.send(
        new PutAccountSettingCommand({ name: 'fargateFIPSMode', value: 'enabled' }),
      );
      expect(put.setting).toMatchObject({ principalArn: ROOT, value: 'enabled' });
      await surface.ecs.send(new DeleteAccountSettingCommand({ name: 'fargateFIPSMode' }));
    });

    it('refuses to turn off a long ARN format, because Berth always issues long ARNs, and accepts turning it on', async () => {
      for (const call of [
        () =>
          surface.ecs.send(new PutAccountSettingCommand({ name: 'taskLongArnFormat', value: 'disabled' })),
        () =>
          surface.ecs.send(
            new PutAccountSettingDefaultCommand({
              name: 'containerInstanceLongArnFormat',
              value: 'disabled',
            }),
          ),
      ]) {
        const error = await errorOf(call());
        expect(error).toMatchObject({ name: 'InvalidParameterException', status: 400 });
        expect(error.message).toMatch(/always issues the long ARN format/);
      }
      const on = await surface.ecs.send(
        new PutAccountSettingCommand({ name: 'serviceLongArnFormat', value: 'enabled' }),
      );
      expect(on.setting).toMatchObject({ value: 'enabled' });
      await surface.ecs.send(new DeleteAccountSettingCommand({ name: 'serviceLongArnFormat' }));
    });

    it('refuses values a setting does not take, read-only settings, root-only settings for others, and principals it does not know', async () => {
      const cases: [() => Promise<unknown>, RegExp][] = [
        [
          () => surface.ecs.send(new PutAccountSettingCommand({ name: 'containerInsights', value: 'on' })),
          /enabled, disabled, enhanced/,
        ],
        [
          () => surface.ecs.send(new PutAccountSettingCommand({ name: 'guardDutyActivate', value: 'on' })),
          /read-only/,
        ],
        [() => surface.ecs.send(new DeleteAccountSettingCommand({ name: 'guardDutyActivate' })), /read-only/],
        [
          () =>
            surface.ecs.send(
              new PutAccountSettingCommand({
                name: 'fargateTaskRetirementWaitPeriod',
                value: '14',
                principalArn: USER,
              }),
            ),
          /root/,
        ],
        [
          () =>
            surface.ecs.send(
              new PutAccountSettingCommand({
                name: 'awsvpcTrunking',
                value: 'enabled',
                principalArn: 'arn:aws:iam::111111111111:root',
              }),
            ),
          /account/,
        ],
        [
          () =>
            surface.ecs.send(
              new PutAccountSettingCommand({
                name: 'awsvpcTrunking',
                value: 'enabled',
                principalArn: `arn:aws:sts::${ACCOUNT}:assumed-role/deployer/session`,
              }),
            ),
          /principalArn/,
        ],
        [() => surface.ecs.send(new ListAccountSettingsCommand({ value: 'enabled' })), /name/],
        [() => surface.ecs.send(new ListAccountSettingsCommand({ maxResults: 11 })), /maxResults/],
      ];
      for (const [call, message] of cases) {
        const error = await errorOf(call());
        expect(error).toMatchObject({ name: 'InvalidParameterException', status: 400 });
        expect(error.message).toMatch(message);
      }
      const rootOnly = await surface.ecs.send(
        new PutAccountSettingCommand({ name: 'fargateTaskRetirementWaitPeriod', value: '14' }),
      );
      expect(rootOnly.setting).toMatchObject({ value: '14', principalArn: ROOT });
      await surface.ecs.send(new DeleteAccountSettingCommand({ name: 'fargateTaskRetirementWaitPeriod' }));
    });

    it('pages the settings by maxResults and filters them by name and value', async () => {
      const seen: string[] = [];
      let nextToken: string | undefined;
      do {
        const page = await surface.ecs.send(
          new ListAccountSettingsCommand({ effectiveSettings: true, maxResults: 4, nextToken }),
        );
        expect(page.settings!.length).toBeLessThanOrEqual(4);
        seen.push(...page.settings!.map((s) => s.name!));
        nextToken = page.nextToken;
      } while (nextToken);
      expect(seen).toEqual(SETTING_NAMES);
      expect(await list({ effectiveSettings: true, name: 'containerInsights', value: 'enabled' })).toEqual(
        [],
      );
      expect(
        await list({ effectiveSettings: true, name: 'containerInsights', value: 'disabled' }),
      ).toHaveLength(1);
    });

    it("gives a new cluster the account's containerInsights unless CreateCluster sets its own", async () => {
      await surface.ecs.send(
        new PutAccountSettingDefaultCommand({ name: 'containerInsights', value: 'enhanced' }),
      );
      try {
        await surface.ecs.send(new CreateClusterCommand({ clusterName: 'inherits-insights' }));
        expect((await describeCluster('inherits-insights')).settings).toEqual([
          { name: 'containerInsights', value: 'enhanced' },
        ]);
        await surface.ecs.send(
          new CreateClusterCommand({
            clusterName: 'own-insights',
            settings: [{ name: 'containerInsights', value: 'disabled' }],
          }),
        );
        expect((await describeCluster('own-insights')).settings).toEqual([
          { name: 'containerInsights', value: 'disabled' },
        ]);
      } finally {
        await surface.ecs.send(new DeleteAccountSettingCommand({ name: 'containerInsights' }));
      }
    });
  });
}
