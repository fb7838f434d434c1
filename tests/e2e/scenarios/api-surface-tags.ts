/**
 * Tags through the AWS SDK: TagResource, UntagResource and ListTagsForResource on every taggable
 * resource by ARN, ECS's limits and errors, `include: ["TAGS"]`, and tags that survive the writes
 * a cluster's room makes to the same rows. Tags propagated to new tasks: api-surface-propagate-tags.ts.
 */
import {
  CreateClusterCommand,
  DeleteClusterCommand,
  DescribeClustersCommand,
  DescribeContainerInstancesCommand,
  DescribeTaskDefinitionCommand,
  DescribeTasksCommand,
  ListTagsForResourceCommand,
  PutAttributesCommand,
  StopTaskCommand,
  type Tag,
  TagResourceCommand,
  UntagResourceCommand,
  UpdateContainerInstancesStateCommand,
} from '@aws-sdk/client-ecs';
import { beforeAll, describe, expect, it } from 'vitest';
import { someTags } from '../../helpers/builders';
import { errorOf } from '../../helpers/ecs-errors';
import { connectRawAgent, helloFrame } from '../../helpers/raw-agent';
import { waitFor } from '../../helpers/wait';
import { type ApiSurface, SURFACE_CLUSTER } from './api-surface-context';

const ARN_PREFIX = 'arn:aws:ecs:us-east-1:000000000000';
const TAGGED_FAMILY = 'surface-tagged';

export function defineTagScenarios(surface: ApiSurface) {
  describe('tags', () => {
    /** One ARN of each taggable resource type, made once. */
    const arns = { cluster: '', taskDefinition: '', task: '', containerInstance: '' };

    const tagsOf = async (resourceArn: string) =>
      (await surface.ecs.send(new ListTagsForResourceCommand({ resourceArn }))).tags;
    const tag = (resourceArn: string, tags: Tag[]) =>
      surface.ecs.send(new TagResourceCommand({ resourceArn, tags }));

    beforeAll(async () => {
      arns.cluster = `${ARN_PREFIX}:cluster/${SURFACE_CLUSTER}`;
      arns.taskDefinition = await surface.registerFamily(TAGGED_FAMILY, [
        { key: 'team', value: 'red' },
        { key: 'tier', value: 'web' },
      ]);
      arns.task = (await surface.startTask()).taskArn!;
      arns.containerInstance = surface.instanceArn;
    });

    it('tags, lists and untags a cluster, a task definition, a task and a container instance by ARN', async () => {
      for (const resourceArn of [arns.cluster, arns.task, arns.containerInstance]) {
        await tag(resourceArn, [
          { key: 'a', value: '1' },
          { key: 'b', value: '2' },
        ]);
        await tag(resourceArn, [
          { key: 'b', value: '3' },
          { key: 'c', value: '' },
        ]);
        expect(await tagsOf(resourceArn)).toEqual([
          { key: 'a', value: '1' },
          { key: 'b', value: '3' },
          { key: 'c', value: '' },
        ]);
        await surface.ecs.send(new UntagResourceCommand({ resourceArn, tagKeys: ['a', 'never-set'] }));
        expect(await tagsOf(resourceArn)).toEqual([
          { key: 'b', value: '3' },
          { key: 'c', value: '' },
        ]);
      }
      // A task definition keeps the tags it was registered with, and takes more.
      await tag(arns.taskDefinition, [{ key: 'owner', value: 'me' }]);
      expect(await tagsOf(arns.taskDefinition)).toEqual([
        { key: 'team', value: 'red' },
        { key: 'tier', value: 'web' },
        { key: 'owner', value: 'me' },
      ]);
      await surface.ecs.send(
        new UntagResourceCommand({ resourceArn: arns.taskDefinition, tagKeys: ['owner'] }),
      );
    });

    it('shows tags in DescribeClusters, DescribeTaskDefinition, DescribeTasks and DescribeContainerInstances only when asked with include TAGS', async () => {
      const { ecs } = surface;
      const clusterTag = { key: 'described', value: 'cluster' };
      const instanceTag = { key: 'described', value: 'instance' };
      const taskTag = { key: 'described', value: 'task' };
      await tag(arns.cluster, [clusterTag]);
      await tag(arns.containerInstance, [instanceTag]);
      await tag(arns.task, [taskTag]);

      const clusters = async (include?: 'TAGS'[]) =>
        (await ecs.send(new DescribeClustersCommand({ clusters: [SURFACE_CLUSTER], include }))).clusters![0];
      expect((await clusters()).tags).toBeUndefined();
      expect((await clusters(['TAGS'])).tags).toContainEqual(clusterTag);

      const definition = (include?: 'TAGS'[]) =>
        ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: TAGGED_FAMILY, include }));
      expect((await definition()).tags).toBeUndefined();
      expect((await definition(['TAGS'])).tags).toEqual([
        { key: 'team', value: 'red' },
        { key: 'tier', value: 'web' },
      ]);

      const task = async (include?: 'TAGS'[]) =>
        (await ecs.send(new DescribeTasksCommand({ cluster: SURFACE_CLUSTER, tasks: [arns.task], include })))
          .tasks![0];
      expect((await task()).tags).toBeUndefined();
      expect((await task(['TAGS'])).tags).toContainEqual(taskTag);

      const instance = async (include?: 'TAGS'[]) =>
        (
          await ecs.send(
            new DescribeContainerInstancesCommand({
              cluster: SURFACE_CLUSTER,
              containerInstances: [arns.containerInstance],
              include,
            }),
          )
        ).containerInstances![0];
      expect((await instance()).tags).toBeUndefined();
      expect((await instance(['TAGS'])).tags).toContainEqual(instanceTag);
    });

    it('refuses more than 50 tags on a resource after merging, and leaves its tags as they were', async () => {
      const resourceArn = (await surface.startTask()).taskArn!;
      await tag(resourceArn, someTags('first', 30));
      const tooMany = await errorOf(tag(resourceArn, someTags('second', 21)));
      expect(tooMany).toMatchObject({ name: 'LimitExceededException', status: 400 });
      expect(tooMany.message).toMatch(/51 tags/);
      expect(await tagsOf(resourceArn)).toHaveLength(30);
      // Overwriting keys it has adds none: 30 old keys plus 20 new is exactly the limit.
      await tag(resourceArn, [...someTags('first', 30), ...someTags('second', 20)]);
      expect(await tagsOf(resourceArn)).toHaveLength(50);
    });

    it('refuses reserved aws: keys, over-long keys and values, and duplicate keys', async () => {
      const cases: [Tag[], RegExp][] = [
        [[{ key: 'aws:owner', value: 'x' }], /aws: prefix is reserved/],
        [[{ key: 'AWS:Owner', value: 'x' }], /aws: prefix is reserved/],
        [[{ key: 'k'.repeat(129), value: 'x' }], /key/],
        [[{ key: 'long', value: 'v'.repeat(257) }], /value/],
        [
          [
            { key: 'twice', value: '1' },
            { key: 'twice', value: '2' },
          ],
          /duplicate/,
        ],
      ];
      for (const [tags, message] of cases) {
        const error = await errorOf(tag(arns.cluster, tags));
        expect(error.name).toBe('InvalidParameterException');
        expect(error.message).toMatch(message);
      }
      const untagReserved = await errorOf(
        surface.ecs.send(new UntagResourceCommand({ resourceArn: arns.cluster, tagKeys: ['aws:owner'] })),
      );
      expect(untagReserved).toMatchObject({ name: 'InvalidParameterException', status: 400 });
    });

    it('answers ARNs that name no taggable resource the way ECS does', async () => {
      await surface.ecs.send(new CreateClusterCommand({ clusterName: 'surface-deleted' }));
      await surface.ecs.send(new DeleteClusterCommand({ cluster: 'surface-deleted' }));
      const cases: [string, string][] = [
        ['not-an-arn', 'InvalidParameterException'],
        [`${ARN_PREFIX}:service/${SURFACE_CLUSTER}/web`, 'InvalidParameterException'],
        [`arn:aws:ecs:eu-west-1:000000000000:cluster/${SURFACE_CLUSTER}`, 'InvalidParameterException'],
        [`arn:aws:ecs:us-east-1:111111111111:cluster/${SURFACE_CLUSTER}`, 'InvalidParameterException'],
        [`${ARN_PREFIX}:cluster/no-such-cluster`, 'ClusterNotFoundException'],
        [`${ARN_PREFIX}:cluster/surface-deleted`, 'ClusterNotFoundException'],
        [`${ARN_PREFIX}:task/no-such-cluster/${'0'.repeat(32)}`, 'ClusterNotFoundException'],
        [`${ARN_PREFIX}:task/${SURFACE_CLUSTER}/${'0'.repeat(32)}`, 'InvalidParameterException'],
        [
          `${ARN_PREFIX}:container-instance/${SURFACE_CLUSTER}/${'0'.repeat(32)}`,
          'InvalidParameterException',
        ],
        [`${ARN_PREFIX}:task-definition/never-registered:1`, 'ClientException'],
      ];
      for (const [resourceArn, name] of cases) {
        const calls = [
          () => tag(resourceArn, [{ key: 'k', value: 'v' }]),
          () => surface.ecs.send(new UntagResourceCommand({ resourceArn, tagKeys: ['k'] })),
          () => surface.ecs.send(new ListTagsForResourceCommand({ resourceArn })),
        ];
        for (const call of calls) {
          expect({ resourceArn, ...(await errorOf(call())) }).toMatchObject({
            resourceArn,
            name,
            status: 400,
          });
        }
      }
    });

    it('lands every one of many concurrent TagResource calls on one resource', async () => {
      const resourceArn = (await surface.startTask()).taskArn!;
      await Promise.all(someTags('parallel', 20).map((t) => tag(resourceArn, [t])));
      const keys = (await tagsOf(resourceArn))!.map((t) => t.key).sort();
      expect(keys).toEqual(
        someTags('parallel', 20)
          .map((t) => t.key)
          .sort(),
      );
    });

    it("keeps the tags of a task and its instance while the room writes their rows (reports, stop, drain, attributes, the agent's return)", async () => {
      const { ecs, agent, instanceArn } = surface;
      const task = await surface.startTask();
      await tag(task.taskArn!, [{ key: 'kept', value: 'task' }]);
      await tag(instanceArn, [{ key: 'kept', value: 'instance' }]);

      agent.send({
        type: 'taskState',
        seq: 1,
        task: {
          taskArn: task.taskArn!,
          generation: 1,
          lastStatus: 'RUNNING',
          containers: [{ name: 'main', lastStatus: 'RUNNING' }],
        },
      });
      await waitFor('the report to be recorded', async () => {
        const [described] = (
          await ecs.send(new DescribeTasksCommand({ cluster: SURFACE_CLUSTER, tasks: [task.taskArn!] }))
        ).tasks!;
        return described.lastStatus === 'RUNNING';
      });
      await ecs.send(new StopTaskCommand({ cluster: SURFACE_CLUSTER, task: task.taskArn! }));
      await ecs.send(
        new PutAttributesCommand({
          cluster: SURFACE_CLUSTER,
          attributes: [{ name: 'surface.kept', value: 'yes', targetId: instanceArn }],
        }),
      );
      for (const status of ['DRAINING', 'ACTIVE'] as const) {
        await ecs.send(
          new UpdateContainerInstancesStateCommand({
            cluster: SURFACE_CLUSTER,
            containerInstances: [instanceArn],
            status,
          }),
        );
      }
      // The agent comes back: its hello rewrites the instance's row.
      const back = await connectRawAgent(
        surface.runtime.endpoint,
        SURFACE_CLUSTER,
        surface.instanceCredential,
      );
      back.send(helloFrame({ hostname: 'surface-host', instanceId: instanceArn.split('/').pop() }));
      await back.waitForFrame('welcome');
      surface.agent.close();
      surface.agent = back;

      expect(await tagsOf(task.taskArn!)).toContainEqual({ key: 'kept', value: 'task' });
      expect(await tagsOf(instanceArn)).toContainEqual({ key: 'kept', value: 'instance' });
    });
  });
}
