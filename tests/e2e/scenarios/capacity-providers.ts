/**
 * Capacity providers as host pools, on every runtime: hosts join with the attribute
 * `berth.capacity-provider` (what the agent's `--capacity-provider` sets), and RunTask with a
 * capacity provider strategy places its base first and the rest by weight, each share within its
 * own pool. Raw protocol connections play the hosts, so no Docker is needed; the calls go through
 * the real AWS SDK.
 */
import {
  CreateCapacityProviderCommand,
  CreateClusterCommand,
  DescribeContainerInstancesCommand,
  DescribeTasksCommand,
  type ECSClient,
  PutAttributesCommand,
  PutClusterCapacityProvidersCommand,
  RegisterTaskDefinitionCommand,
  RunTaskCommand,
  type RunTaskCommandInput,
} from '@aws-sdk/client-ecs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CAPACITY_PROVIDER_ATTRIBUTE } from '../../../protocol/attributes';
import { connectRawAgent, helloFrame, type RawAgent } from '../../helpers/raw-agent';
import type { RunningRuntime, RuntimeHarness } from '../../helpers/runtimes';
import { waitFor } from '../../helpers/wait';

const CLUSTER = 'pooled';
const ASG = {
  autoScalingGroupArn:
    'arn:aws:autoscaling:us-east-1:000000000000:autoScalingGroup:1:autoScalingGroupName/none',
};
const PROVIDER_ARN = 'arn:aws:ecs:us-east-1:000000000000:capacity-provider/';

interface Host {
  agent: RawAgent;
  arn: string;
}
type HostName = 'a1' | 'b1' | 'b2' | 'plain' | 'c1';

export function defineCapacityProviderScenarios(harness: RuntimeHarness) {
  describe(`capacity providers on the ${harness.name} runtime`, () => {
    let runtime: RunningRuntime;
    let ecs: ECSClient;
    const hosts = {} as Record<HostName, Host>;
    const nameOf = new Map<string, string>();

    async function join(hostname: string, token: string, pool?: string): Promise<Host> {
      const agent = await connectRawAgent(runtime.endpoint, CLUSTER, token);
      const attributes = [{ name: 'ecs.os-type', value: 'linux' }];
      if (pool) attributes.push({ name: CAPACITY_PROVIDER_ATTRIBUTE, value: pool });
      agent.send(helloFrame({ hostname, attributes }));
      const welcome = await agent.waitForFrame('welcome');
      nameOf.set(welcome.containerInstanceArn, hostname);
      return { agent, arn: welcome.containerInstanceArn };
    }

    const put = (
      capacityProviders: string[],
      strategy: { capacityProvider: string; weight?: number }[] = [],
    ) =>
      ecs.send(
        new PutClusterCapacityProvidersCommand({
          cluster: CLUSTER,
          capacityProviders,
          defaultCapacityProviderStrategy: strategy,
        }),
      );

    const run = (input: Partial<RunTaskCommandInput>) =>
      ecs.send(new RunTaskCommand({ cluster: CLUSTER, taskDefinition: 'pooled', ...input }));

    /** How many of the call's tasks each host got, by hostname. */
    const perHost = (tasks: { containerInstanceArn?: string }[] = []) =>
      tasks.reduce<Record<string, number>>((counts, task) => {
        const host = nameOf.get(task.containerInstanceArn ?? '') ?? 'unknown';
        counts[host] = (counts[host] ?? 0) + 1;
        return counts;
      }, {});

    beforeAll(async () => {
      runtime = await harness.start();
      ecs = runtime.ecs;
      await ecs.send(new CreateClusterCommand({ clusterName: CLUSTER }));
      for (const name of ['pool-a', 'pool-b', 'pool-c', 'pool-empty']) {
        await ecs.send(new CreateCapacityProviderCommand({ name, autoScalingGroupProvider: ASG }));
      }
      await ecs.send(
        new RegisterTaskDefinitionCommand({
          family: 'pooled',
          containerDefinitions: [{ name: 'main', image: 'busybox', memory: 16 }],
        }),
      );
      const token = await runtime.mintJoinToken(CLUSTER);
      hosts.a1 = await join('a1', token, 'pool-a');
      hosts.b1 = await join('b1', token, 'pool-b');
      hosts.b2 = await join('b2', token, 'pool-b');
      hosts.plain = await join('plain', token);
      // In a pool the cluster never takes on: its instance must never be placed on by a strategy.
      hosts.c1 = await join('c1', token, 'pool-c');
      await put(['pool-a', 'pool-b', 'pool-empty']);
    });

    afterAll(async () => {
      for (const host of Object.values(hosts)) host.agent.close();
      await runtime?.close();
    });

    it('places the base on its provider first, then splits the rest 1:3 by weight, each share within its pool', async () => {
      const out = await run({
        count: 9,
        capacityProviderStrategy: [
          { capacityProvider: 'pool-a', base: 1, weight: 1 },
          { capacityProvider: 'pool-b', weight: 3 },
        ],
        placementStrategy: [{ type: 'spread', field: 'instanceId' }],
      });
      expect(out.failures).toEqual([]);
      // Base 1 on pool-a, then 8 tasks at 1:3: 2 more on pool-a and 6 on pool-b, spread over b1 and b2.
      expect(perHost(out.tasks)).toEqual({ a1: 3, b1: 3, b2: 3 });

      const one = await run({
        capacityProviderStrategy: [
          { capacityProvider: 'pool-a', base: 1, weight: 1 },
          { capacityProvider: 'pool-b', weight: 3 },
        ],
      });
      expect(perHost(one.tasks)).toEqual({ a1: 1 });
    });

    it("places by the cluster's default strategy when RunTask names none, and not when it names a launch type", async () => {
      await put(['pool-a', 'pool-b', 'pool-empty'], [{ capacityProvider: 'pool-b', weight: 1 }]);
      const defaulted = await run({ count: 4, placementStrategy: [{ type: 'spread', field: 'instanceId' }] });
      expect(perHost(defaulted.tasks)).toEqual({ b1: 2, b2: 2 });

      const byLaunchType = await run({
        launchType: 'EC2',
        placementConstraints: [
          { type: 'memberOf', expression: `ec2InstanceId == ${hosts.plain.arn.split('/').pop()}` },
        ],
      });
      expect(perHost(byLaunchType.tasks)).toEqual({ plain: 1 });
      await put(['pool-a', 'pool-b', 'pool-empty']);
    });

    it('reports EMPTY CAPACITY PROVIDER for a provider without instances, until PutAttributes moves one into it', async () => {
      const empty = await run({
        count: 2,
        capacityProviderStrategy: [{ capacityProvider: 'pool-empty', weight: 1 }],
      });
      expect(empty.tasks).toEqual([]);
      expect(empty.failures).toEqual([
        expect.objectContaining({ arn: `${PROVIDER_ARN}pool-empty`, reason: 'EMPTY CAPACITY PROVIDER' }),
      ]);

      await ecs.send(
        new PutAttributesCommand({
          cluster: CLUSTER,
          attributes: [{ name: CAPACITY_PROVIDER_ATTRIBUTE, value: 'pool-empty', targetId: hosts.plain.arn }],
        }),
      );
      const moved = await run({
        count: 2,
        capacityProviderStrategy: [{ capacityProvider: 'pool-empty', weight: 1 }],
      });
      expect(perHost(moved.tasks)).toEqual({ plain: 2 });
      const described = await ecs.send(
        new DescribeContainerInstancesCommand({
          cluster: CLUSTER,
          containerInstances: [hosts.plain.arn, hosts.a1.arn],
        }),
      );
      const poolOf = new Map(
        described.containerInstances!.map((i) => [i.containerInstanceArn, i.capacityProviderName]),
      );
      expect(poolOf.get(hosts.plain.arn)).toBe('pool-empty');
      expect(poolOf.get(hosts.a1.arn)).toBe('pool-a');
    });

    it('refuses strategies ECS refuses, naming the field', async () => {
      const refusals: [Partial<RunTaskCommandInput>, RegExp][] = [
        [
          { capacityProviderStrategy: [{ capacityProvider: 'ghost', weight: 1 }] },
          /^capacityProviderStrategy\[0\]\.capacityProvider: capacity provider 'ghost' does not exist/,
        ],
        [
          {
            capacityProviderStrategy: [
              { capacityProvider: 'pool-a', weight: 1 },
              { capacityProvider: 'pool-c', weight: 1 },
            ],
          },
          /^capacityProviderStrategy\[1\]\.capacityProvider: capacity provider 'pool-c' is not associated with cluster 'pooled'/,
        ],
        [
          { capacityProviderStrategy: [{ capacityProvider: 'FARGATE', weight: 1 }] },
          /^capacityProviderStrategy\[0\]\.capacityProvider: FARGATE is AWS Fargate's capacity provider, which Berth does not have/,
        ],
        [
          { launchType: 'EC2', capacityProviderStrategy: [{ capacityProvider: 'pool-a', weight: 1 }] },
          /^launchType, capacityProviderStrategy: Specifying both a launch type and capacity provider strategy is not supported/,
        ],
        [
          {
            capacityProviderStrategy: [
              { capacityProvider: 'pool-a', base: 1, weight: 1 },
              { capacityProvider: 'pool-b', base: 1, weight: 1 },
            ],
          },
          /^capacityProviderStrategy\[1\]\.base: only one capacity provider in a strategy can have a base/,
        ],
      ];
      for (const [input, message] of refusals) {
        await expect(run(input)).rejects.toMatchObject({
          name: 'InvalidParameterException',
          message: expect.stringMatching(message),
        });
      }
      for (const name of ['FARGATE_SPOT', 'fargate-pool', 'aws-pool', 'ecs-pool']) {
        await expect(
          ecs.send(new CreateCapacityProviderCommand({ name, autoScalingGroupProvider: ASG })),
        ).rejects.toMatchObject({
          name: 'InvalidParameterException',
          message: expect.stringMatching(/^name: /),
        });
      }
    });

    it('keeps a provider in the cluster while its instances run tasks, and lets it go once they have stopped', async () => {
      await expect(put(['pool-b', 'pool-empty'])).rejects.toMatchObject({
        name: 'ResourceInUseException',
        message: expect.stringMatching(
          /^The specified capacity provider is in use and cannot be removed\. \(capacityProviders: 'pool-a'/,
        ),
      });
      const onA = (await run({ capacityProviderStrategy: [{ capacityProvider: 'pool-a', weight: 1 }] }))
        .tasks![0];
      const running = await hosts.a1.agent.waitForFrame(
        'runTask',
        (frame) => frame.task.taskArn === onA.taskArn,
      );
      expect(running.task.taskArn).toBe(onA.taskArn);
      // The host reports every task it was given as exited, so none of pool-a's tasks is left.
      const given = hosts.a1.agent.received.flatMap((frame) =>
        frame.type === 'runTask' ? [frame.task.taskArn] : [],
      );
      for (const taskArn of given) {
        hosts.a1.agent.send({
          type: 'taskState',
          seq: 1,
          task: {
            taskArn,
            generation: 1,
            lastStatus: 'STOPPED',
            containers: [{ name: 'main', lastStatus: 'STOPPED', exitCode: 0 }],
          },
        });
      }
      await waitFor('every task of pool-a to be STOPPED', async () => {
        const out = await ecs.send(new DescribeTasksCommand({ cluster: CLUSTER, tasks: given }));
        return out.tasks!.every((task) => task.lastStatus === 'STOPPED');
      });
      const out = await put(['pool-b', 'pool-empty']);
      expect(out.cluster?.capacityProviders).toEqual(['pool-b', 'pool-empty']);
    });
  });
}
