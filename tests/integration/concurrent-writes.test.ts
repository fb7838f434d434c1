/**
 * Writes no room serialises (tags, cluster settings and configuration), racing each other, called
 * straight on the domain so the reads and writes of concurrent calls interleave at every await:
 * their compare-and-swap must make every one of them land.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCluster, describeClusters } from '../../worker/core/clusters/clusters';
import { updateCluster, updateClusterSettings } from '../../worker/core/clusters/update-cluster';
import { listTagsForResource, tagResource, untagResource } from '../../worker/core/tagging/resource-tags';
import { someTags } from '../helpers/builders';
import { startTestControlPlane, type TestControlPlane } from '../helpers/control-plane';

describe('concurrent writes outside the room', () => {
  let test: TestControlPlane;

  beforeAll(async () => {
    test = await startTestControlPlane();
  });
  afterAll(async () => {
    await test?.close();
  });

  describe('of tags', () => {
    let resourceArn: string;

    beforeAll(async () => {
      resourceArn = (await createCluster(test.plane.deps, { clusterName: 'racing-tags' })).arn;
    });

    const keysOf = async () =>
      (await listTagsForResource(test.plane.deps, { resourceArn })).tags.map((t) => t.key).sort();

    it('land every one of many TagResource calls made at once on one resource', async () => {
      const tags = someTags('at-once-', 30);
      await Promise.all(tags.map((tag) => tagResource(test.plane.deps, { resourceArn, tags: [tag] })));
      expect(await keysOf()).toEqual(tags.map((t) => t.key).sort());
    });

    it('land every UntagResource call made at once, alongside TagResource calls', async () => {
      const added = someTags('added-', 10);
      await Promise.all([
        ...someTags('at-once-', 30).map((tag) =>
          untagResource(test.plane.deps, { resourceArn, tagKeys: [tag.key!] }),
        ),
        ...added.map((tag) => tagResource(test.plane.deps, { resourceArn, tags: [tag] })),
      ]);
      expect(await keysOf()).toEqual(added.map((t) => t.key).sort());
    });
  });

  describe('of a cluster', () => {
    it('land every one of concurrent updates of its settings and of each configuration member', async () => {
      const { deps } = test.plane;
      await createCluster(deps, { clusterName: 'racing-updates' });
      const executeCommandConfiguration = { logging: 'NONE' as const };
      const managedStorageConfiguration = { kmsKeyId: 'alias/storage' };
      for (let round = 0; round < 5; round++) {
        await Promise.all([
          updateClusterSettings(deps, {
            cluster: 'racing-updates',
            settings: [{ name: 'containerInsights', value: round % 2 ? 'enabled' : 'enhanced' }],
          }),
          updateCluster(deps, { cluster: 'racing-updates', configuration: { executeCommandConfiguration } }),
          updateCluster(deps, { cluster: 'racing-updates', configuration: { managedStorageConfiguration } }),
          updateCluster(deps, { cluster: 'racing-updates', serviceConnectDefaults: { namespace: 'mesh' } }),
        ]);
      }
      const [cluster] = (
        await describeClusters(deps, {
          clusters: ['racing-updates'],
          include: ['SETTINGS', 'CONFIGURATIONS'],
        })
      ).clusters;
      // The last round (4) asked for enhanced.
      expect(cluster.settings).toEqual([{ name: 'containerInsights', value: 'enhanced' }]);
      expect(cluster.configuration).toEqual({ executeCommandConfiguration, managedStorageConfiguration });
      expect(cluster.serviceConnectDefaults).toEqual({ namespace: 'mesh' });
    });
  });
});
