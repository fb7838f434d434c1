/**
 * Capacity providers through the real AWS SDK against a Node control plane: ECS's lifecycle
 * (ACTIVE, DELETE_FAILED while associated, INACTIVE), its naming rules, and the association with
 * clusters through PutClusterCapacityProviders and CreateCluster. Placement across providers is
 * the shared end-to-end scenario's (tests/e2e/scenarios/capacity-providers.ts).
 */
import {
  CreateCapacityProviderCommand,
  type CreateCapacityProviderCommandInput,
  CreateClusterCommand,
  DeleteCapacityProviderCommand,
  DeleteClusterCommand,
  DescribeCapacityProvidersCommand,
  DescribeClustersCommand,
  ListTagsForResourceCommand,
  PutClusterCapacityProvidersCommand,
  TagResourceCommand,
} from '@aws-sdk/client-ecs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestControlPlane, type TestControlPlane } from '../helpers/control-plane';

const ASG = {
  autoScalingGroupArn:
    'arn:aws:autoscaling:us-east-1:000000000000:autoScalingGroup:1:autoScalingGroupName/hosts',
};
const ARN_PREFIX = 'arn:aws:ecs:us-east-1:000000000000:capacity-provider/';

describe('capacity providers', () => {
  let test: TestControlPlane;

  beforeAll(async () => {
    test = await startTestControlPlane();
  });
  afterAll(async () => {
    await test?.close();
  });

  const create = (name: string, extra: Partial<CreateCapacityProviderCommandInput> = {}) =>
    test.ecs.send(new CreateCapacityProviderCommand({ name, autoScalingGroupProvider: ASG, ...extra }));
  const describeOne = async (name: string) =>
    (await test.ecs.send(new DescribeCapacityProvidersCommand({ capacityProviders: [name] })))
      .capacityProviders?.[0];
  const put = (
    cluster: string,
    capacityProviders: string[],
    strategy: { capacityProvider: string; base?: number; weight?: number }[] = [],
  ) =>
    test.ecs.send(
      new PutClusterCapacityProvidersCommand({
        cluster,
        capacityProviders,
        defaultCapacityProviderStrategy: strategy,
      }),
    );
  const describeCluster = async (cluster: string) =>
    (await test.ecs.send(new DescribeClustersCommand({ clusters: [cluster] }))).clusters![0];

  it('creates an ACTIVE provider with its tags and ECS’s defaults for what Berth stores but does not use', async () => {
    const out = await create('on-demand', {
      autoScalingGroupProvider: { ...ASG, managedScaling: { status: 'ENABLED', targetCapacity: 80 } },
      tags: [{ key: 'team', value: 'infra' }],
    });
    expect(out.capacityProvider).toEqual({
      capacityProviderArn: `${ARN_PREFIX}on-demand`,
      name: 'on-demand',
      status: 'ACTIVE',
      type: 'EC2_AUTOSCALING',
      autoScalingGroupProvider: {
        ...ASG,
        managedScaling: {
          status: 'ENABLED',
          targetCapacity: 80,
          minimumScalingStepSize: 1,
          maximumScalingStepSize: 10_000,
          instanceWarmupPeriod: 300,
        },
        managedTerminationProtection: 'DISABLED',
      },
      tags: [{ key: 'team', value: 'infra' }],
    });
    const described = await describeOne(`${ARN_PREFIX}on-demand`);
    expect(described?.name).toBe('on-demand');
    expect(described?.tags).toBeUndefined();
    const withTags = await test.ecs.send(
      new DescribeCapacityProvidersCommand({ capacityProviders: ['on-demand'], include: ['TAGS'] }),
    );
    expect(withTags.capacityProviders![0].tags).toEqual([{ key: 'team', value: 'infra' }]);
  });

  it('refuses names ECS reserves, naming the field', async () => {
    for (const name of ['aws-pool', 'ECS_pool', 'fargate-cheap', 'FARGATE']) {
      await expect(create(name)).rejects.toMatchObject({
        name: 'InvalidParameterException',
        message: expect.stringMatching(
          /^name: a capacity provider name can't be prefixed with "aws", "ecs", or "fargate"/,
        ),
      });
    }
    await expect(create('has space')).rejects.toMatchObject({
      name: 'InvalidParameterException',
      message: expect.stringMatching(/^name:/),
    });
  });

  it('refuses a second ACTIVE provider of the same name, and what only Managed Instances take', async () => {
    await create('twice');
    await expect(create('twice')).rejects.toMatchObject({
      name: 'ClientException',
      message: expect.stringMatching(/already exists/),
    });
    await expect(test.ecs.send(new CreateCapacityProviderCommand({ name: 'no-asg' }))).rejects.toMatchObject({
      name: 'InvalidParameterException',
      message: expect.stringMatching(/^autoScalingGroupProvider: required/),
    });
    await expect(create('scoped', { cluster: 'default' })).rejects.toMatchObject({
      name: 'InvalidParameterException',
      message: expect.stringMatching(/^cluster:/),
    });
  });

  it('describes unknown providers as MISSING failures, refuses Fargate’s, and pages through the ACTIVE ones', async () => {
    const missing = await test.ecs.send(
      new DescribeCapacityProvidersCommand({ capacityProviders: ['nobody'] }),
    );
    expect(missing.capacityProviders).toEqual([]);
    expect(missing.failures).toEqual([{ arn: `${ARN_PREFIX}nobody`, reason: 'MISSING' }]);
    await expect(
      test.ecs.send(new DescribeCapacityProvidersCommand({ capacityProviders: ['FARGATE_SPOT'] })),
    ).rejects.toMatchObject({
      name: 'InvalidParameterException',
      message: expect.stringMatching(/^capacityProviders\[0\]: FARGATE_SPOT is AWS Fargate's/),
    });

    for (const name of ['page-1', 'page-2', 'page-3']) await create(name);
    const seen: string[] = [];
    let nextToken: string | undefined;
    do {
      const page = await test.ecs.send(new DescribeCapacityProvidersCommand({ maxResults: 2, nextToken }));
      expect(page.capacityProviders!.length).toBeLessThanOrEqual(2);
      seen.push(...page.capacityProviders!.map((p) => p.name!));
      nextToken = page.nextToken;
    } while (nextToken);
    expect(seen).toEqual(expect.arrayContaining(['on-demand', 'twice', 'page-1', 'page-2', 'page-3']));
    expect(new Set(seen).size).toBe(seen.length);
  });

  it('associates providers and a default strategy with a cluster, checking both lists the way ECS does', async () => {
    await test.ecs.send(new CreateClusterCommand({ clusterName: 'pools' }));
    await create('pool-a');
    await create('pool-b');
    const out = await put('pools', ['pool-a', 'pool-b'], [{ capacityProvider: 'pool-b', weight: 1 }]);
    expect(out.cluster).toMatchObject({
      clusterName: 'pools',
      capacityProviders: ['pool-a', 'pool-b'],
      defaultCapacityProviderStrategy: [{ capacityProvider: 'pool-b', base: 0, weight: 1 }],
    });
    expect((await describeCluster('pools')).capacityProviders).toEqual(['pool-a', 'pool-b']);
    const onlyPools = await test.ecs.send(new DescribeCapacityProvidersCommand({ cluster: 'pools' }));
    expect(onlyPools.capacityProviders!.map((p) => p.name)).toEqual(['pool-a', 'pool-b']);

    await expect(put('pools', ['pool-a'], [{ capacityProvider: 'pool-b', weight: 1 }])).rejects.toMatchObject(
      {
        name: 'InvalidParameterException',
        message: expect.stringMatching(
          /^defaultCapacityProviderStrategy\[0\]\.capacityProvider: 'pool-b' is not in capacityProviders/,
        ),
      },
    );
    await expect(put('pools', ['pool-a', 'ghost'])).rejects.toMatchObject({
      name: 'InvalidParameterException',
      message: expect.stringMatching(/^capacityProviders\[1\]: capacity provider 'ghost' does not exist/),
    });
    await expect(put('pools', ['FARGATE'])).rejects.toMatchObject({
      name: 'InvalidParameterException',
      message: expect.stringMatching(/^capacityProviders\[0\]: FARGATE is AWS Fargate's/),
    });
    await expect(
      put(
        'pools',
        ['pool-a', 'pool-b'],
        [
          { capacityProvider: 'pool-a', base: 1, weight: 1 },
          { capacityProvider: 'pool-b', base: 2, weight: 1 },
        ],
      ),
    ).rejects.toMatchObject({
      name: 'InvalidParameterException',
      message: expect.stringMatching(/^defaultCapacityProviderStrategy\[1\]\.base: only one/),
    });
    await expect(
      put('pools', ['pool-a', 'pool-b'], [{ capacityProvider: 'pool-a' }, { capacityProvider: 'pool-b' }]),
    ).rejects.toMatchObject({
      name: 'InvalidParameterException',
      message: expect.stringMatching(/weight greater than 0/),
    });
    await expect(put('nowhere', ['pool-a'])).rejects.toMatchObject({ name: 'ClusterNotFoundException' });

    await test.ecs.send(new CreateClusterCommand({ clusterName: 'pools-other' }));
    await expect(put('pools-other', ['pool-a'])).rejects.toMatchObject({
      name: 'InvalidParameterException',
      message: expect.stringMatching(
        /^capacityProviders\[0\]: capacity provider 'pool-a' is already associated with cluster 'pools'/,
      ),
    });
    // The failed calls changed nothing.
    expect((await describeCluster('pools')).capacityProviders).toEqual(['pool-a', 'pool-b']);
  });

  it('answers DELETE_FAILED for a provider still associated, and deletes it once the cluster lets go', async () => {
    await create('leaving');
    await test.ecs.send(new CreateClusterCommand({ clusterName: 'holder' }));
    await put('holder', ['leaving']);
    const refused = await test.ecs.send(new DeleteCapacityProviderCommand({ capacityProvider: 'leaving' }));
    expect(refused.capacityProvider).toMatchObject({
      status: 'ACTIVE',
      updateStatus: 'DELETE_FAILED',
      updateStatusReason:
        'The capacity provider cannot be deleted because it is associated with cluster: holder. Remove the capacity provider from the cluster and try again.',
    });
    expect((await describeOne('leaving'))?.updateStatus).toBe('DELETE_FAILED');

    await put('holder', []);
    const deleted = await test.ecs.send(
      new DeleteCapacityProviderCommand({ capacityProvider: `${ARN_PREFIX}leaving` }),
    );
    expect(deleted.capacityProvider).toMatchObject({ status: 'INACTIVE', updateStatus: 'DELETE_COMPLETE' });
    expect((await describeOne('leaving'))?.status).toBe('INACTIVE');
    await expect(
      test.ecs.send(new DeleteCapacityProviderCommand({ capacityProvider: 'leaving' })),
    ).rejects.toMatchObject({
      name: 'ClientException',
      message: expect.stringMatching(/does not exist/),
    });
    await expect(put('holder', ['leaving'])).rejects.toMatchObject({
      name: 'InvalidParameterException',
      message: expect.stringMatching(/'leaving' is INACTIVE/),
    });
    await expect(
      test.ecs.send(new DeleteCapacityProviderCommand({ capacityProvider: 'FARGATE' })),
    ).rejects.toMatchObject({
      name: 'InvalidParameterException',
      message: expect.stringMatching(/^capacityProvider: FARGATE/),
    });
    // The name is free again.
    expect((await create('leaving')).capacityProvider?.status).toBe('ACTIVE');
  });

  it('takes capacity providers at CreateCluster, creates no cluster when one is refused, and lets them go at DeleteCluster', async () => {
    await create('born-with');
    const out = await test.ecs.send(
      new CreateClusterCommand({
        clusterName: 'born',
        capacityProviders: ['born-with'],
        defaultCapacityProviderStrategy: [{ capacityProvider: 'born-with', base: 1 }],
      }),
    );
    expect(out.cluster).toMatchObject({
      capacityProviders: ['born-with'],
      defaultCapacityProviderStrategy: [{ capacityProvider: 'born-with', base: 1, weight: 0 }],
    });
    await expect(
      test.ecs.send(new CreateClusterCommand({ clusterName: 'stillborn', capacityProviders: ['ghost'] })),
    ).rejects.toMatchObject({ name: 'InvalidParameterException' });
    expect((await test.ecs.send(new DescribeClustersCommand({ clusters: ['stillborn'] }))).failures).toEqual([
      expect.objectContaining({ reason: 'MISSING' }),
    ]);

    await test.ecs.send(new DeleteClusterCommand({ cluster: 'born' }));
    const deleted = await test.ecs.send(new DeleteCapacityProviderCommand({ capacityProvider: 'born-with' }));
    expect(deleted.capacityProvider?.status).toBe('INACTIVE');
  });

  it('tags a provider by its ARN like any other resource, until it is deleted', async () => {
    await create('tagged');
    const resourceArn = `${ARN_PREFIX}tagged`;
    await test.ecs.send(new TagResourceCommand({ resourceArn, tags: [{ key: 'tier', value: 'spot' }] }));
    expect((await test.ecs.send(new ListTagsForResourceCommand({ resourceArn }))).tags).toEqual([
      { key: 'tier', value: 'spot' },
    ]);
    await test.ecs.send(new DeleteCapacityProviderCommand({ capacityProvider: 'tagged' }));
    await expect(test.ecs.send(new ListTagsForResourceCommand({ resourceArn }))).rejects.toMatchObject({
      name: 'ClientException',
      message: expect.stringMatching(/does not exist/),
    });
  });
});
