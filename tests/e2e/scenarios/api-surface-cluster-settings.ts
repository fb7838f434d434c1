/**
 * Cluster settings and configuration through the AWS SDK: UpdateClusterSettings, UpdateCluster and
 * CreateCluster store them, DescribeClusters returns them, and bad ones are refused as in ECS.
 */
import {
  CreateClusterCommand,
  DescribeClustersCommand,
  UpdateClusterCommand,
  UpdateClusterSettingsCommand,
} from '@aws-sdk/client-ecs';
import { describe, expect, it } from 'vitest';
import { errorOf } from '../../helpers/ecs-errors';
import type { ApiSurface } from './api-surface-context';

const EXEC_CONFIGURATION = {
  executeCommandConfiguration: {
    kmsKeyId: 'alias/exec',
    logging: 'OVERRIDE' as const,
    logConfiguration: { s3BucketName: 'exec-logs', s3KeyPrefix: 'sessions/', s3EncryptionEnabled: true },
  },
};

export function defineClusterSettingScenarios(surface: ApiSurface) {
  const describeCluster = (name: string) => surface.describeCluster(name);

  describe('cluster settings and configuration', () => {
    it('turns containerInsights on with UpdateClusterSettings and shows it in DescribeClusters with include SETTINGS', async () => {
      await surface.ecs.send(new CreateClusterCommand({ clusterName: 'insights' }));
      expect((await describeCluster('insights')).settings).toEqual([
        { name: 'containerInsights', value: 'disabled' },
      ]);
      const updated = await surface.ecs.send(
        new UpdateClusterSettingsCommand({
          cluster: 'insights',
          settings: [{ name: 'containerInsights', value: 'enhanced' }],
        }),
      );
      expect(updated.cluster!.settings).toEqual([{ name: 'containerInsights', value: 'enhanced' }]);
      expect((await describeCluster('insights')).settings).toEqual([
        { name: 'containerInsights', value: 'enhanced' },
      ]);
    });

    it('stores the configuration and Service Connect defaults UpdateCluster gives, returns them, and keeps what a later call leaves out', async () => {
      await surface.ecs.send(new CreateClusterCommand({ clusterName: 'configured' }));
      const updated = await surface.ecs.send(
        new UpdateClusterCommand({
          cluster: 'configured',
          configuration: EXEC_CONFIGURATION,
          serviceConnectDefaults: { namespace: 'internal' },
        }),
      );
      expect(updated.cluster!.configuration).toEqual(EXEC_CONFIGURATION);
      expect(updated.cluster!.serviceConnectDefaults).toEqual({ namespace: 'internal' });

      // Only managed storage: the exec configuration stays; settings alone: both stay.
      await surface.ecs.send(
        new UpdateClusterCommand({
          cluster: 'configured',
          configuration: { managedStorageConfiguration: { kmsKeyId: 'alias/storage' } },
        }),
      );
      await surface.ecs.send(
        new UpdateClusterCommand({
          cluster: 'configured',
          settings: [{ name: 'containerInsights', value: 'enabled' }],
        }),
      );
      const described = await describeCluster('configured');
      expect(described.configuration).toEqual({
        ...EXEC_CONFIGURATION,
        managedStorageConfiguration: { kmsKeyId: 'alias/storage' },
      });
      expect(described.settings).toEqual([{ name: 'containerInsights', value: 'enabled' }]);
      expect(described.serviceConnectDefaults).toEqual({ namespace: 'internal' });
      // Without include CONFIGURATIONS there is no configuration, as in ECS.
      const plain = (await surface.ecs.send(new DescribeClustersCommand({ clusters: ['configured'] })))
        .clusters![0];
      expect(plain.configuration).toBeUndefined();

      // An empty namespace removes the Service Connect defaults.
      await surface.ecs.send(
        new UpdateClusterCommand({ cluster: 'configured', serviceConnectDefaults: { namespace: '' } }),
      );
      expect((await describeCluster('configured')).serviceConnectDefaults).toBeUndefined();
    });

    it('stores the configuration CreateCluster gives and returns it', async () => {
      const created = await surface.ecs.send(
        new CreateClusterCommand({ clusterName: 'born-configured', configuration: EXEC_CONFIGURATION }),
      );
      expect(created.cluster!.configuration).toEqual(EXEC_CONFIGURATION);
      expect((await describeCluster('born-configured')).configuration).toEqual(EXEC_CONFIGURATION);
    });

    it('refuses bad settings, an OVERRIDE without its log configuration, bad namespaces and unknown clusters', async () => {
      const cases: [Promise<unknown>, string, RegExp][] = [
        [
          surface.ecs.send(
            new UpdateClusterSettingsCommand({
              cluster: 'insights',
              settings: [{ name: 'containerInsights', value: 'on' }],
            }),
          ),
          'InvalidParameterException',
          /settings\[0\]\.value/,
        ],
        [
          surface.ecs.send(
            new UpdateClusterCommand({
              cluster: 'insights',
              configuration: { executeCommandConfiguration: { logging: 'OVERRIDE' } },
            }),
          ),
          'InvalidParameterException',
          /logConfiguration/,
        ],
        [
          surface.ecs.send(
            new UpdateClusterCommand({ cluster: 'insights', serviceConnectDefaults: { namespace: 'a<b' } }),
          ),
          'InvalidParameterException',
          /namespace/,
        ],
        [
          surface.ecs.send(
            new UpdateClusterSettingsCommand({
              cluster: 'no-such-cluster',
              settings: [{ name: 'containerInsights', value: 'enabled' }],
            }),
          ),
          'ClusterNotFoundException',
          /not found/,
        ],
      ];
      // Every call is already under way: take each outcome now, so none is an unhandled rejection
      // while an earlier one is being awaited.
      const outcomes = cases.map(([call, name, message]) => ({ pending: errorOf(call), name, message }));
      for (const { pending, name, message } of outcomes) {
        const error = await pending;
        expect(error).toMatchObject({ name, status: 400 });
        expect(error.message).toMatch(message);
      }
    });
  });
}
