/**
 * Tag writes racing each other, called straight on the domain so reads and writes of concurrent
 * calls interleave at every await: each call's compare-and-swap must make all of them land.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCluster } from '../../worker/core/clusters/clusters';
import { listTagsForResource, tagResource, untagResource } from '../../worker/core/tagging/resource-tags';
import type { Tag } from '../../worker/core/tags';
import { startTestControlPlane, type TestControlPlane } from '../helpers/control-plane';

describe('concurrent tag writes', () => {
  let test: TestControlPlane;
  let resourceArn: string;

  beforeAll(async () => {
    test = await startTestControlPlane();
    resourceArn = (await createCluster(test.plane.deps, { clusterName: 'racing-tags' })).arn;
  });
  afterAll(async () => {
    await test?.close();
  });

  const tagsNamed = (prefix: string, count: number): Tag[] =>
    Array.from({ length: count }, (_, i) => ({ key: `${prefix}${i}`, value: String(i) }));
  const keysOf = async () =>
    (await listTagsForResource(test.plane.deps, { resourceArn })).tags.map((t) => t.key).sort();

  it('lands every one of many TagResource calls made at once on one resource', async () => {
    const tags = tagsNamed('at-once-', 30);
    await Promise.all(tags.map((tag) => tagResource(test.plane.deps, { resourceArn, tags: [tag] })));
    expect(await keysOf()).toEqual(tags.map((t) => t.key).sort());
  });

  it('lands every UntagResource call made at once, alongside TagResource calls', async () => {
    const added = tagsNamed('added-', 10);
    await Promise.all([
      ...tagsNamed('at-once-', 30).map((tag) =>
        untagResource(test.plane.deps, { resourceArn, tagKeys: [tag.key!] }),
      ),
      ...added.map((tag) => tagResource(test.plane.deps, { resourceArn, tags: [tag] })),
    ]);
    expect(await keysOf()).toEqual(added.map((t) => t.key).sort());
  });
});
