/**
 * DAEMON services end to end, written once and run on every runtime: the real AWS SDK against a
 * real control plane and a fleet of raw agents. One task per instance, an instance joining gets
 * its task, a DRAINING one loses it, memberOf constraints decide which instances run it, and a
 * daemon deployment replaces the task of each instance stop-first (checked from the hosts' side at
 * every start).
 */
import {
  CreateCapacityProviderCommand,
  CreateClusterCommand,
  CreateServiceCommand,
  type CreateServiceCommandInput,
  DeleteAttributesCommand,
  DeleteServiceCommand,
  DescribeServiceDeploymentsCommand,
  DescribeServiceRevisionsCommand,
  DescribeServicesCommand,
  DescribeTasksCommand,
  type ECSClient,
  ListServiceDeploymentsCommand,
  ListServicesCommand,
  ListTasksCommand,
  PutAttributesCommand,
  PutClusterCapacityProvidersCommand,
  RegisterTaskDefinitionCommand,
  type Service,
  UpdateContainerInstancesStateCommand,
  UpdateServiceCommand,
  waitUntilServicesInactive,
  waitUntilServicesStable,
} from '@aws-sdk/client-ecs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorOf } from '../../helpers/ecs-errors';
import { type FleetTask, type RawAgentFleet, startRawAgentFleet } from '../../helpers/raw-agent-fleet';
import type { RunningRuntime, RuntimeHarness } from '../../helpers/runtimes';
import { waitFor } from '../../helpers/wait';

const CLUSTER = 'daemons';
const HEALTHY_AFTER_MS = 300;
const STOP_DELAY_MS = 150;
/** How long an INACTIVE service stays described here (Berth's default is an hour, as ECS's "a while"). */
const INACTIVE_RETENTION_MS = 2_000;
const WAITER = { minDelay: 1, maxDelay: 1, maxWaitTime: 60 };
const PLACEMENT_STRATEGY_TEXT =
  'The daemon scheduling strategy does not support placement strategies. Remove the placement strategy and try again';
const DESIRED_COUNT_TEXT =
  'The daemon scheduling strategy does not support a desired count for services. Remove the desired count value and try again';

/** A made-up `sha256:` digest per image and build (hosts may hold different builds of one tag). */
const digestOf = (task: { family: string; revision: number }, build: string) =>
  `sha256:${`${task.family}${task.revision}${build}`.padEnd(64, '0').replace(/[^0-9a-f]/g, 'f')}`;

export function defineDaemonServiceScenarios(harness: RuntimeHarness) {
  describe(`DAEMON services on the ${harness.name} runtime`, () => {
    let runtime: RunningRuntime;
    let ecs: ECSClient;
    let fleet: RawAgentFleet;
    let joined: RawAgentFleet | undefined;
    const definitions: Record<string, string[]> = {};

    const describeService = async (name: string): Promise<Service> =>
      (await ecs.send(new DescribeServicesCommand({ cluster: CLUSTER, services: [name] }))).services![0];
    const waitStable = (name: string) =>
      waitUntilServicesStable({ client: ecs, ...WAITER }, { cluster: CLUSTER, services: [name] });
    const waitSteady = (name: string) =>
      waitFor(`service ${name} to report a steady state`, async () => {
        const service = await describeService(name);
        return service.events?.[0]?.message?.endsWith('has reached a steady state.') && service;
      });
    /** Live tasks of a family on every host, the joined one included. */
    const liveOf = (family: string): FleetTask[] =>
      [...fleet.live.values(), ...(joined?.live.values() ?? [])].filter((t) => t.family === family);
    const instancesOf = (family: string) => liveOf(family).map((t) => t.instanceArn);
    const create = (input: Partial<CreateServiceCommandInput> & { serviceName: string }) =>
      ecs.send(
        new CreateServiceCommand({
          cluster: CLUSTER,
          taskDefinition: definitions.monitor[0],
          schedulingStrategy: 'DAEMON',
          ...input,
        }),
      );
    const setState = (instance: string, status: 'ACTIVE' | 'DRAINING') =>
      ecs.send(
        new UpdateContainerInstancesStateCommand({
          cluster: CLUSTER,
          containerInstances: [instance],
          status,
        }),
      );

    beforeAll(async () => {
      runtime = await harness.start({
        taskHealthyAfterMs: HEALTHY_AFTER_MS,
        inactiveServiceRetentionMs: INACTIVE_RETENTION_MS,
      });
      ecs = runtime.ecs;
      await ecs.send(new CreateClusterCommand({ clusterName: CLUSTER }));
      // A default capacity provider strategy, which ECS applies to a daemon created without a launch
      // type and then refuses (aws/containers-roadmap#692); Berth runs the daemon anyway.
      await ecs.send(
        new CreateCapacityProviderCommand({
          name: 'daemon-pool',
          autoScalingGroupProvider: {
            autoScalingGroupArn:
              'arn:aws:autoscaling:us-east-1:000000000000:autoScalingGroup:x:autoScalingGroupName/daemon-pool',
          },
        }),
      );
      await ecs.send(
        new PutClusterCapacityProvidersCommand({
          cluster: CLUSTER,
          capacityProviders: ['daemon-pool'],
          defaultCapacityProviderStrategy: [{ capacityProvider: 'daemon-pool', weight: 1 }],
        }),
      );
      for (const family of ['monitor', 'edge']) {
        definitions[family] = [];
        for (const tag of ['1', '2']) {
          const out = await ecs.send(
            new RegisterTaskDefinitionCommand({
              family,
              containerDefinitions: [
                { name: 'main', image: `example/${family}:${tag}`, cpu: 64, memory: 32, essential: true },
              ],
            }),
          );
          definitions[family].push(out.taskDefinition!.taskDefinitionArn!);
        }
      }
      // Hosts take a while to stop a task, so a start that did not wait for the stop shows on the host.
      fleet = await startRawAgentFleet(runtime.endpoint, CLUSTER, () => runtime.mintJoinToken(CLUSTER), 3, {
        stopDelayMs: STOP_DELAY_MS,
        imageDigest: (task) => digestOf(task, 'a'),
      });
    });

    afterAll(async () => {
      joined?.close();
      fleet?.close();
      await runtime?.close();
    });

    it('refuses a desired count, a maximumPercent above 100, placement strategies and capacity providers', async () => {
      const outcomes = await Promise.all([
        errorOf(create({ serviceName: 'bad', desiredCount: 3 })),
        errorOf(create({ serviceName: 'bad', deploymentConfiguration: { maximumPercent: 200 } })),
        errorOf(create({ serviceName: 'bad', placementStrategy: [{ type: 'spread', field: 'instanceId' }] })),
        errorOf(
          create({ serviceName: 'bad', capacityProviderStrategy: [{ capacityProvider: 'x', weight: 1 }] }),
        ),
        errorOf(create({ serviceName: 'bad', schedulingStrategy: 'SOMETIMES' as 'DAEMON' })),
      ]);
      expect(outcomes.map((e) => e.name)).toEqual(Array(5).fill('InvalidParameterException'));
      expect(outcomes[0].message).toBe(DESIRED_COUNT_TEXT);
      expect(outcomes[1].message).toBe(
        'The daemon scheduling strategy does not support values above 100 for maximumPercent on a deployment configuration. Change the maximumPercent value to 100, and try again',
      );
      expect(outcomes[2].message).toBe(PLACEMENT_STRATEGY_TEXT);
      expect(outcomes[3].message).toBe(
        'Specifying a capacity provider strategy is not supported when you create a service using the DAEMON scheduling strategy.',
      );
      expect(outcomes[4].message).toMatch(/^schedulingStrategy: /);
      const described = await ecs.send(new DescribeServicesCommand({ cluster: CLUSTER, services: ['bad'] }));
      expect(described.failures).toEqual([
        { arn: expect.stringContaining('service/daemons/bad'), reason: 'MISSING' },
      ]);
    });

    it('runs one task on each of the three instances, which the SDK waiter sees stable', async () => {
      const out = await create({ serviceName: 'monitor' });
      expect(out.service).toMatchObject({
        schedulingStrategy: 'DAEMON',
        launchType: 'EC2',
        deploymentConfiguration: { maximumPercent: 100, minimumHealthyPercent: 0 },
      });
      await waitStable('monitor');
      const service = await describeService('monitor');
      expect(service).toMatchObject({ desiredCount: 3, runningCount: 3 });
      expect(service.deployments).toEqual([expect.objectContaining({ status: 'PRIMARY', desiredCount: 3 })]);
      expect(new Set(instancesOf('monitor'))).toEqual(new Set(fleet.hosts.map((h) => h.instanceArn)));
      expect(liveOf('monitor')).toHaveLength(3);
      const listed = await ecs.send(
        new ListServicesCommand({ cluster: CLUSTER, schedulingStrategy: 'DAEMON' }),
      );
      expect(listed.serviceArns).toEqual([service.serviceArn]);
      // UpdateService of a daemon refuses a count with the same text as CreateService.
      const update = await errorOf(
        ecs.send(new UpdateServiceCommand({ cluster: CLUSTER, service: 'monitor', desiredCount: 5 })),
      );
      expect(update).toMatchObject({ name: 'InvalidParameterException', message: DESIRED_COUNT_TEXT });
      const refused = await Promise.all([
        errorOf(
          ecs.send(
            new UpdateServiceCommand({
              cluster: CLUSTER,
              service: 'monitor',
              deploymentConfiguration: { maximumPercent: 200 },
              taskDefinition: definitions.monitor[1],
            }),
          ),
        ),
        errorOf(
          ecs.send(
            new UpdateServiceCommand({
              cluster: CLUSTER,
              service: 'monitor',
              placementStrategy: [{ type: 'binpack', field: 'memory' }],
            }),
          ),
        ),
      ]);
      expect(refused.map((e) => e.message)).toEqual([
        expect.stringMatching(
          /^The daemon scheduling strategy does not support values above 100 for maximumPercent/,
        ),
        PLACEMENT_STRATEGY_TEXT,
      ]);
      // Nothing was half-written: no new deployment, the configuration as it was.
      const after = await describeService('monitor');
      expect(after.deployments).toHaveLength(1);
      expect(after).toMatchObject({
        taskDefinition: definitions.monitor[0],
        deploymentConfiguration: { maximumPercent: 100, minimumHealthyPercent: 0 },
        placementStrategy: [],
      });
    });

    it('gives an instance that joins its task', async () => {
      // This host holds another build under the same tag: it reports another digest.
      joined = await startRawAgentFleet(runtime.endpoint, CLUSTER, () => runtime.mintJoinToken(CLUSTER), 1, {
        stopDelayMs: STOP_DELAY_MS,
        imageDigest: (task) => digestOf(task, 'b'),
      });
      const newcomer = joined.hosts[0].instanceArn;
      await waitFor('the joining instance to run the daemon', () =>
        instancesOf('monitor').includes(newcomer),
      );
      await waitStable('monitor');
      expect(await describeService('monitor')).toMatchObject({ desiredCount: 4, runningCount: 4 });
      expect(liveOf('monitor')).toHaveLength(4);
    });

    it('shows the digest each host reported in DescribeTasks, and the first one in the service revision', async () => {
      const arns = (await ecs.send(new ListTasksCommand({ cluster: CLUSTER, serviceName: 'monitor' })))
        .taskArns!;
      const described = await ecs.send(new DescribeTasksCommand({ cluster: CLUSTER, tasks: arns }));
      const newcomer = joined!.hosts[0].instanceArn;
      const digests = described.tasks!.map((t) => [
        t.containerInstanceArn === newcomer,
        t.containers!.map((c) => c.imageDigest),
      ]);
      expect(digests).toHaveLength(4);
      for (const [onNewcomer, containers] of digests) {
        const build = onNewcomer ? 'b' : 'a';
        expect(containers).toEqual([digestOf({ family: 'monitor', revision: 1 }, build)]);
      }
      const history = await ecs.send(
        new ListServiceDeploymentsCommand({ cluster: CLUSTER, service: 'monitor' }),
      );
      const revision = await ecs.send(
        new DescribeServiceRevisionsCommand({
          serviceRevisionArns: [history.serviceDeployments![0].targetServiceRevisionArn!],
        }),
      );
      // The three first hosts reported before the fourth joined: their digest is the revision's.
      expect(revision.serviceRevisions![0].containerImages).toEqual([
        {
          containerName: 'main',
          image: 'example/monitor:1',
          imageDigest: digestOf({ family: 'monitor', revision: 1 }, 'a'),
        },
      ]);
    });

    it('stops the task of an instance set DRAINING, and starts it again when the instance is ACTIVE', async () => {
      const drained = fleet.hosts[1].instanceArn;
      await setState(drained, 'DRAINING');
      await waitFor(
        'no daemon left on the draining instance',
        () => !instancesOf('monitor').includes(drained),
      );
      await waitStable('monitor');
      expect(await describeService('monitor')).toMatchObject({ desiredCount: 3, runningCount: 3 });
      await setState(drained, 'ACTIVE');
      await waitFor('the instance to run the daemon again', () => instancesOf('monitor').includes(drained));
      await waitStable('monitor');
      expect(liveOf('monitor')).toHaveLength(4);
    });

    it('runs only on instances matching its memberOf constraint, and leaves an instance that stops matching', async () => {
      const [first, second] = fleet.hosts.map((h) => h.instanceArn);
      await ecs.send(
        new PutAttributesCommand({
          cluster: CLUSTER,
          attributes: [first, second].map((targetId) => ({ name: 'role', value: 'edge', targetId })),
        }),
      );
      await create({
        serviceName: 'edge',
        taskDefinition: definitions.edge[0],
        placementConstraints: [{ type: 'memberOf', expression: 'attribute:role == edge' }],
      });
      await waitStable('edge');
      expect((await describeService('edge')).desiredCount).toBe(2);
      expect(new Set(instancesOf('edge'))).toEqual(new Set([first, second]));
      await ecs.send(
        new DeleteAttributesCommand({ cluster: CLUSTER, attributes: [{ name: 'role', targetId: second }] }),
      );
      await waitFor('the daemon to leave the instance that stopped matching', () =>
        instancesOf('edge').every((i) => i === first),
      );
      await waitStable('edge');
      expect(await describeService('edge')).toMatchObject({ desiredCount: 1, runningCount: 1 });
      // Constraints cleared by UpdateService: every instance qualifies at once (ECS needs a restart).
      await ecs.send(
        new UpdateServiceCommand({ cluster: CLUSTER, service: 'edge', placementConstraints: [] }),
      );
      await waitFor('the daemon on every instance', () => new Set(instancesOf('edge')).size === 4);
      await waitStable('edge');
      expect(await describeService('edge')).toMatchObject({ desiredCount: 4, runningCount: 4 });
    });

    it('replaces the task of each instance stop-first on a new task definition', async () => {
      await waitSteady('monitor');
      const overlaps: string[] = [];
      const listener = (event: 'run' | 'stop', task: FleetTask) => {
        if (event !== 'run' || task.family !== 'monitor') return;
        const here = liveOf('monitor').filter((t) => t.instanceArn === task.instanceArn);
        if (here.length > 1) overlaps.push(`${task.instanceArn}: ${here.map((t) => t.revision).join(',')}`);
      };
      fleet.onChange(listener);
      joined?.onChange(listener);
      const out = await ecs.send(
        new UpdateServiceCommand({
          cluster: CLUSTER,
          service: 'monitor',
          taskDefinition: definitions.monitor[1],
        }),
      );
      expect(out.service?.deployments?.[0]).toMatchObject({ status: 'PRIMARY', rolloutState: 'IN_PROGRESS' });
      await waitFor('every instance to run revision 2', () => {
        const live = liveOf('monitor');
        return live.length === 4 && live.every((t) => t.revision === 2);
      });
      await waitStable('monitor');
      const steady = await waitSteady('monitor');
      expect(overlaps).toEqual([]);
      expect(new Set(instancesOf('monitor')).size).toBe(4);
      expect(steady.deployments).toEqual([
        expect.objectContaining({ rolloutState: 'COMPLETED', desiredCount: 4 }),
      ]);
      expect(steady.taskDefinition).toBe(definitions.monitor[1]);
    });

    it('says which instance lacks the resources when the daemon does not fit', async () => {
      const big = await ecs.send(
        new RegisterTaskDefinitionCommand({
          family: 'hungry',
          containerDefinitions: [
            { name: 'main', image: 'example/hungry:1', cpu: 8192, memory: 32, essential: true },
          ],
        }),
      );
      await create({ serviceName: 'hungry', taskDefinition: big.taskDefinition!.taskDefinitionArn! });
      const service = await waitFor('the placement failure event', async () => {
        const described = await describeService('hungry');
        return described.events?.some((e) => e.message?.includes('insufficient CPU units')) && described;
      });
      expect(service).toMatchObject({ desiredCount: 4, runningCount: 0 });
      // The scheduler runs again (an instance changed): the same cause gives no second event.
      await ecs.send(
        new PutAttributesCommand({
          cluster: CLUSTER,
          attributes: [{ name: 'touched', value: 'yes', targetId: fleet.hosts[2].instanceArn }],
        }),
      );
      const again = await describeService('hungry');
      expect(again.events!.filter((e) => e.message?.includes('insufficient CPU units'))).toHaveLength(1);
      expect(service.events!.map((e) => e.message)).toContainEqual(
        expect.stringMatching(
          /^\(service hungry\) was unable to place a task because no container instance met all of its requirements\. The closest matching \(container-instance \w+\) has insufficient CPU units available\.$/,
        ),
      );
      await ecs.send(new DeleteServiceCommand({ cluster: CLUSTER, service: 'hungry' }));
    });

    it('deletes a daemon without force; the SDK waiter sees it INACTIVE, and after the retention it is MISSING', async () => {
      const history = await ecs.send(
        new ListServiceDeploymentsCommand({ cluster: CLUSTER, service: 'edge' }),
      );
      const deploymentArn = history.serviceDeployments![0].serviceDeploymentArn!;
      const deletedAtMs = Date.now();
      const out = await ecs.send(new DeleteServiceCommand({ cluster: CLUSTER, service: 'edge' }));
      expect(out.service?.status).toMatch(/^(DRAINING|INACTIVE)$/);
      await waitUntilServicesInactive({ client: ecs, ...WAITER }, { cluster: CLUSTER, services: ['edge'] });
      expect(liveOf('edge')).toEqual([]);
      const purged = await waitFor('the INACTIVE service to be purged', async () => {
        const described = await ecs.send(
          new DescribeServicesCommand({ cluster: CLUSTER, services: ['edge'] }),
        );
        return described.failures?.length === 1 && described;
      });
      // ECS keeps describing it for a while: here the retention, shortened to a few seconds.
      expect(Date.now() - deletedAtMs).toBeGreaterThanOrEqual(INACTIVE_RETENTION_MS);
      expect(purged.failures![0]).toMatchObject({ reason: 'MISSING' });
      const deployments = await ecs.send(
        new DescribeServiceDeploymentsCommand({ serviceDeploymentArns: [deploymentArn] }),
      );
      expect(deployments.failures).toEqual([
        expect.objectContaining({ arn: deploymentArn, reason: 'MISSING' }),
      ]);
      // The other services of the cluster are untouched.
      expect((await describeService('monitor')).status).toBe('ACTIVE');
    });
  });
}
