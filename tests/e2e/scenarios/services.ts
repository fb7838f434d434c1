/**
 * Services end to end, written once and run on every runtime: the real AWS SDK (its waiters
 * included) against a real control plane, with a fleet of raw agents that start and stop tasks at
 * once, so a rolling update's bounds are checked from the hosts' side at every step.
 */
import {
  CreateCapacityProviderCommand,
  CreateClusterCommand,
  CreateServiceCommand,
  type CreateServiceCommandInput,
  DeleteClusterCommand,
  DeleteServiceCommand,
  DescribeClustersCommand,
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
  TagResourceCommand,
  UpdateContainerInstancesStateCommand,
  UpdateServiceCommand,
  waitUntilServicesInactive,
  waitUntilServicesStable,
} from '@aws-sdk/client-ecs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorOf } from '../../helpers/ecs-errors';
import { type RawAgentFleet, startRawAgentFleet } from '../../helpers/raw-agent-fleet';
import type { RunningRuntime, RuntimeHarness } from '../../helpers/runtimes';
import { waitFor } from '../../helpers/wait';

const CLUSTER = 'services';
const FAMILY = 'web';
/** Service tasks count as healthy this long after RUNNING (ECS: 40 s). */
const HEALTHY_AFTER_MS = 300;
/** The SDK waiters poll every second here (ECS's 15 s would make every test a minute long). */
const WAITER = { minDelay: 1, maxDelay: 1, maxWaitTime: 60 };

export function defineServiceScenarios(harness: RuntimeHarness) {
  describe(`services on the ${harness.name} runtime`, () => {
    let runtime: RunningRuntime;
    let ecs: ECSClient;
    let fleet: RawAgentFleet;
    const revisions: string[] = [];

    const describeService = async (name: string): Promise<Service> =>
      (await ecs.send(new DescribeServicesCommand({ cluster: CLUSTER, services: [name], include: ['TAGS'] })))
        .services![0];
    const waitStable = (name: string) =>
      waitUntilServicesStable({ client: ecs, ...WAITER }, { cluster: CLUSTER, services: [name] });
    /** Steady: the scheduler has seen every task healthy (not only running), so old ones may be stopped. */
    const waitSteady = (name: string) =>
      waitFor(`service ${name} to report a steady state`, async () => {
        const service = await describeService(name);
        return service.events?.[0]?.message?.endsWith('has reached a steady state.') && service;
      });
    const create = (input: Partial<CreateServiceCommandInput> & { serviceName: string }) =>
      ecs.send(
        new CreateServiceCommand({
          cluster: CLUSTER,
          taskDefinition: revisions[0],
          desiredCount: 1,
          ...input,
        }),
      );

    beforeAll(async () => {
      runtime = await harness.start({ taskHealthyAfterMs: HEALTHY_AFTER_MS });
      ecs = runtime.ecs;
      await ecs.send(new CreateClusterCommand({ clusterName: CLUSTER }));
      for (const tag of ['1', '2']) {
        const out = await ecs.send(
          new RegisterTaskDefinitionCommand({
            family: FAMILY,
            containerDefinitions: [
              { name: 'main', image: `example/web:${tag}`, cpu: 64, memory: 32, essential: true },
            ],
          }),
        );
        revisions.push(out.taskDefinition!.taskDefinitionArn!);
      }
      fleet = await startRawAgentFleet(runtime.endpoint, CLUSTER, () => runtime.mintJoinToken(CLUSTER), 3);
    });

    afterAll(async () => {
      fleet?.close();
      await runtime?.close();
    });

    it('creates a REPLICA service that the SDK waiter sees stable, its tasks spread over the instances', async () => {
      const out = await create({ serviceName: 'web', desiredCount: 3, tags: [{ key: 'team', value: 'a' }] });
      expect(out.service).toMatchObject({
        serviceName: 'web',
        status: 'ACTIVE',
        desiredCount: 3,
        launchType: 'EC2',
      });
      await waitStable('web');
      const service = await describeService('web');
      expect(service.runningCount).toBe(3);
      expect(service.deployments).toHaveLength(1);
      expect(service.tags).toEqual([{ key: 'team', value: 'a' }]);
      const instances = new Set([...fleet.live.values()].map((t) => t.instanceArn));
      expect(instances.size).toBe(3);
      const listed = await ecs.send(new ListTasksCommand({ cluster: CLUSTER, serviceName: 'web' }));
      expect(listed.taskArns).toHaveLength(3);
      const steady = await waitSteady('web');
      expect(steady.deployments![0]).toMatchObject({ status: 'PRIMARY', rolloutState: 'COMPLETED' });
      const messages = steady.events!.map((e) => e.message);
      expect(messages.some((m) => /\(service web\) has started 3 tasks: \(task \w+\)/.test(m!))).toBe(true);
      expect(messages).toContain(
        `(service web) (deployment ${steady.deployments![0].id}) deployment completed.`,
      );
      const cluster = await ecs.send(new DescribeClustersCommand({ clusters: [CLUSTER] }));
      expect(cluster.clusters![0].activeServicesCount).toBe(1);
    });

    it('answers a repeated CreateService with the same service and refuses a different one by name', async () => {
      const again = await create({
        serviceName: 'web',
        desiredCount: 3,
        tags: [{ key: 'team', value: 'a' }],
      });
      expect(again.service?.serviceArn).toBe((await describeService('web')).serviceArn);
      const error = await errorOf(create({ serviceName: 'web', desiredCount: 4 }));
      expect(error).toMatchObject({
        name: 'InvalidParameterException',
        message: 'Creation of service was not idempotent.',
      });
    });

    it('refuses fields Berth has no meaning for, naming them', async () => {
      const error = await errorOf(
        create({
          serviceName: 'lb',
          loadBalancers: [
            { targetGroupArn: 'arn:aws:elasticloadbalancing:x', containerName: 'main', containerPort: 80 },
          ],
        }),
      );
      expect(error.name).toBe('InvalidParameterException');
      expect(error.message).toMatch(/^loadBalancers:/);
    });

    it('scales up and down without a new deployment', async () => {
      await ecs.send(new UpdateServiceCommand({ cluster: CLUSTER, service: 'web', desiredCount: 5 }));
      await waitStable('web');
      expect(fleet.live.size).toBe(5);
      await ecs.send(new UpdateServiceCommand({ cluster: CLUSTER, service: 'web', desiredCount: 2 }));
      await waitStable('web');
      await waitFor('the fleet to hold 2 tasks', () => fleet.live.size === 2);
      const service = await describeService('web');
      expect(service.deployments).toHaveLength(1);
      expect(service.runningCount).toBe(2);
      expect(service.events!.some((e) => /has stopped 3 running tasks/.test(e.message!))).toBe(true);
    });

    it('stops a task whose container turns UNHEALTHY and replaces it', async () => {
      const [sick] = fleet.live.keys();
      fleet.reportHealth(sick, 'UNHEALTHY');
      await waitFor(
        'the unhealthy task to be replaced',
        () => !fleet.live.has(sick) && fleet.live.size === 2,
      );
      const [stopped] = (await ecs.send(new DescribeTasksCommand({ cluster: CLUSTER, tasks: [sick] })))
        .tasks!;
      expect(stopped).toMatchObject({ stopCode: 'ServiceSchedulerInitiated', healthStatus: 'UNHEALTHY' });
      expect(stopped.stoppedReason).toMatch(/^Scaling activity initiated by \(deployment ecs-svc\/\d{19}\)$/);
      const service = await waitSteady('web');
      expect(service.events!.map((e) => e.message)).toContain(
        `(service web) (task ${sick.split('/').pop()}) failed container health checks.`,
      );
    });

    it('replaces the tasks of a DRAINING instance elsewhere, and places nothing new there', async () => {
      const drained = [...fleet.live.values()][0].instanceArn;
      const setState = (status: 'ACTIVE' | 'DRAINING') =>
        ecs.send(
          new UpdateContainerInstancesStateCommand({
            cluster: CLUSTER,
            containerInstances: [drained],
            status,
          }),
        );
      await setState('DRAINING');
      await waitFor(
        'no task left on the draining instance, 2 elsewhere',
        () => fleet.live.size === 2 && [...fleet.live.values()].every((t) => t.instanceArn !== drained),
      );
      await waitSteady('web');
      await setState('ACTIVE');
    });

    it('places tasks in the pool of its capacity provider strategy', async () => {
      await ecs.send(
        new CreateCapacityProviderCommand({
          name: 'svc-pool',
          autoScalingGroupProvider: {
            autoScalingGroupArn:
              'arn:aws:autoscaling:us-east-1:000000000000:autoScalingGroup:x:autoScalingGroupName/svc-pool',
          },
        }),
      );
      await ecs.send(
        new PutClusterCapacityProvidersCommand({
          cluster: CLUSTER,
          capacityProviders: ['svc-pool'],
          defaultCapacityProviderStrategy: [],
        }),
      );
      const poolHost = fleet.hosts[2].instanceArn;
      await ecs.send(
        new PutAttributesCommand({
          cluster: CLUSTER,
          attributes: [{ name: 'berth.capacity-provider', value: 'svc-pool', targetId: poolHost }],
        }),
      );
      const out = await create({
        serviceName: 'pooled',
        desiredCount: 2,
        capacityProviderStrategy: [{ capacityProvider: 'svc-pool', weight: 1 }],
      });
      expect(out.service?.capacityProviderStrategy).toEqual([
        { capacityProvider: 'svc-pool', weight: 1, base: 0 },
      ]);
      await waitStable('pooled');
      const pooled = [...fleet.live.values()].filter((t) => t.instanceArn === poolHost);
      expect(pooled.length).toBeGreaterThanOrEqual(2);
      await ecs.send(new DeleteServiceCommand({ cluster: CLUSTER, service: 'pooled', force: true }));
      await waitUntilServicesInactive({ client: ecs, ...WAITER }, { cluster: CLUSTER, services: ['pooled'] });
    });

    for (const [minimumHealthyPercent, maximumPercent] of [
      [50, 100],
      [100, 200],
      [75, 125],
    ] as const) {
      it(`rolls out a new task definition within min ${minimumHealthyPercent} % and max ${maximumPercent} %`, async () => {
        const desired = 4;
        await ecs.send(new UpdateServiceCommand({ cluster: CLUSTER, service: 'web', desiredCount: desired }));
        await waitStable('web');
        await waitSteady('web');
        const target =
          (await describeService('web')).taskDefinition === revisions[0] ? revisions[1] : revisions[0];
        const targetRevision = Number(target.split(':').pop());
        const minimum = Math.ceil((desired * minimumHealthyPercent) / 100);
        const maximum = Math.floor((desired * maximumPercent) / 100);
        const violations: string[] = [];
        let peak = 0;
        let checking = true;
        fleet.onChange((event, task) => {
          if (!checking) return;
          if (event === 'run') {
            peak = Math.max(peak, fleet.live.size);
            if (fleet.live.size > maximum) violations.push(`${fleet.live.size} tasks exist (max ${maximum})`);
          } else {
            const now = Date.now();
            const healthyLeft = [...fleet.live.values()].filter(
              (t) => t.taskArn !== task.taskArn && now - t.startedAtMs >= HEALTHY_AFTER_MS,
            ).length;
            if (healthyLeft < minimum) violations.push(`${healthyLeft} healthy left (min ${minimum})`);
          }
        });
        const updated = await ecs.send(
          new UpdateServiceCommand({
            cluster: CLUSTER,
            service: 'web',
            taskDefinition: target,
            deploymentConfiguration: { minimumHealthyPercent, maximumPercent },
          }),
        );
        expect(updated.service!.deployments).toHaveLength(2);
        expect(updated.service!.deployments![0]).toMatchObject({
          status: 'PRIMARY',
          rolloutState: 'IN_PROGRESS',
        });
        await waitStable('web');
        await waitFor(
          'every task on the new revision',
          () =>
            fleet.live.size === desired &&
            [...fleet.live.values()].every((t) => t.revision === targetRevision),
        );
        checking = false;
        expect(violations).toEqual([]);
        expect(peak).toBeLessThanOrEqual(maximum);
        const service = await waitSteady('web');
        expect(service.deployments).toHaveLength(1);
        expect(service.deployments![0]).toMatchObject({ taskDefinition: target, rolloutState: 'COMPLETED' });
      });
    }

    it('reports a deployment configuration that allows neither a start nor a stop', async () => {
      await ecs.send(new UpdateServiceCommand({ cluster: CLUSTER, service: 'web', desiredCount: 2 }));
      await waitStable('web');
      await waitSteady('web');
      const current = (await describeService('web')).taskDefinition;
      await ecs.send(
        new UpdateServiceCommand({
          cluster: CLUSTER,
          service: 'web',
          taskDefinition: current === revisions[0] ? revisions[1] : revisions[0],
          deploymentConfiguration: { minimumHealthyPercent: 75, maximumPercent: 100 },
        }),
      );
      await waitFor('the blocked-deployment event', async () =>
        (await describeService('web')).events!.some((e) =>
          e.message!.includes('was unable to stop or start tasks during a deployment'),
        ),
      );
      // Unblocked by a looser configuration, the deployment finishes.
      await ecs.send(
        new UpdateServiceCommand({
          cluster: CLUSTER,
          service: 'web',
          deploymentConfiguration: { minimumHealthyPercent: 50, maximumPercent: 200 },
        }),
      );
      await waitStable('web');
    });

    it('lists and describes the deployment history and its immutable revisions', async () => {
      const service = await describeService('web');
      expect(service.currentServiceDeployment).toMatch(/:service-deployment\/services\/web\/\d{19}$/);
      const listed = await ecs.send(new ListServiceDeploymentsCommand({ cluster: CLUSTER, service: 'web' }));
      const briefs = listed.serviceDeployments!;
      // CreateService, then the three rolling updates and the blocked one: newest first.
      expect(briefs).toHaveLength(5);
      expect(briefs[0]).toMatchObject({ status: 'SUCCESSFUL', serviceArn: service.serviceArn });
      expect(briefs[0].serviceDeploymentArn).toBe(service.currentServiceDeployment);
      const described = await ecs.send(
        new DescribeServiceDeploymentsCommand({
          serviceDeploymentArns: [briefs[0].serviceDeploymentArn!, `${briefs[0].serviceDeploymentArn!}9`],
        }),
      );
      expect(described.serviceDeployments![0]).toMatchObject({
        status: 'SUCCESSFUL',
        targetServiceRevision: {
          arn: briefs[0].targetServiceRevisionArn,
          requestedTaskCount: 2,
          runningTaskCount: 2,
        },
      });
      expect(described.failures).toHaveLength(1);
      const revisions = await ecs.send(
        new DescribeServiceRevisionsCommand({
          serviceRevisionArns: briefs.map((b) => b.targetServiceRevisionArn!),
        }),
      );
      expect(revisions.serviceRevisions!.map((r) => r.containerImages![0].image)).toEqual([
        'example/web:1',
        'example/web:2',
        'example/web:1',
        'example/web:2',
        'example/web:1',
      ]);
    });

    it('says when it cannot place a task, once, and pages ListServices', async () => {
      await create({
        serviceName: 'stuck',
        placementConstraints: [{ type: 'memberOf', expression: 'attribute:zone == nowhere' }],
      });
      const service = await waitFor('the placement failure event', async () => {
        const described = await describeService('stuck');
        return described.events!.length > 0 && described;
      });
      expect(service.events!.map((e) => e.message)).toEqual([
        '(service stuck) was unable to place a task because no container instance met all of its requirements.',
      ]);
      expect(service).toMatchObject({ runningCount: 0, pendingCount: 0, desiredCount: 1 });
      const first = await ecs.send(new ListServicesCommand({ cluster: CLUSTER, maxResults: 1 }));
      expect(first.serviceArns).toHaveLength(1);
      const second = await ecs.send(
        new ListServicesCommand({ cluster: CLUSTER, nextToken: first.nextToken }),
      );
      expect([...first.serviceArns!, ...second.serviceArns!]).toEqual([
        (await describeService('web')).serviceArn,
        service.serviceArn,
      ]);
      await ecs.send(new DeleteServiceCommand({ cluster: CLUSTER, service: 'stuck', force: true }));
      await waitUntilServicesInactive({ client: ecs, ...WAITER }, { cluster: CLUSTER, services: ['stuck'] });
    });

    it('tags a service by ARN and lists only ACTIVE services', async () => {
      const { serviceArn } = await describeService('web');
      await ecs.send(
        new TagResourceCommand({ resourceArn: serviceArn, tags: [{ key: 'tier', value: 'front' }] }),
      );
      expect((await describeService('web')).tags).toContainEqual({ key: 'tier', value: 'front' });
      const listed = await ecs.send(new ListServicesCommand({ cluster: CLUSTER }));
      expect(listed.serviceArns).toEqual([serviceArn]);
      const missing = await ecs.send(new DescribeServicesCommand({ cluster: CLUSTER, services: ['nope'] }));
      expect(missing.failures).toEqual([
        { arn: expect.stringMatching(/:service\/services\/nope$/), reason: 'MISSING' },
      ]);
    });

    it('deletes a service scaled to 0 without force, and one above 0 only with force', async () => {
      await create({ serviceName: 'api', desiredCount: 2 });
      await waitStable('api');
      const refused = await errorOf(ecs.send(new DeleteServiceCommand({ cluster: CLUSTER, service: 'api' })));
      expect(refused).toMatchObject({
        name: 'InvalidParameterException',
        message: 'The service cannot be stopped while it is scaled above 0.',
      });
      const forced = await ecs.send(
        new DeleteServiceCommand({ cluster: CLUSTER, service: 'api', force: true }),
      );
      expect(forced.service?.status).toMatch(/^(DRAINING|INACTIVE)$/);
      await waitUntilServicesInactive({ client: ecs, ...WAITER }, { cluster: CLUSTER, services: ['api'] });
      expect([...fleet.live.values()].every((t) => t.family === FAMILY)).toBe(true);
      const update = await errorOf(
        ecs.send(new UpdateServiceCommand({ cluster: CLUSTER, service: 'api', desiredCount: 1 })),
      );
      expect(update).toMatchObject({ name: 'ServiceNotActiveException', message: 'Service was not ACTIVE.' });

      await ecs.send(new UpdateServiceCommand({ cluster: CLUSTER, service: 'web', desiredCount: 0 }));
      await ecs.send(new DeleteServiceCommand({ cluster: CLUSTER, service: 'web' }));
      await waitUntilServicesInactive({ client: ecs, ...WAITER }, { cluster: CLUSTER, services: ['web'] });
      await waitFor('the fleet to hold no task', () => fleet.live.size === 0);
      const cluster = await ecs.send(new DescribeClustersCommand({ clusters: [CLUSTER] }));
      expect(cluster.clusters![0].activeServicesCount).toBe(0);
      const unknown = await errorOf(
        ecs.send(new DeleteServiceCommand({ cluster: CLUSTER, service: 'ghost' })),
      );
      expect(unknown).toMatchObject({ name: 'ServiceNotFoundException', message: 'Service not found.' });
    });

    it('creates a service again under the name of an INACTIVE one', async () => {
      const out = await create({ serviceName: 'api', desiredCount: 1 });
      expect(out.service).toMatchObject({ status: 'ACTIVE', desiredCount: 1 });
      await waitStable('api');
      expect((await describeService('api')).deployments).toHaveLength(1);
      const refused = await errorOf(ecs.send(new DeleteClusterCommand({ cluster: CLUSTER })));
      expect(refused).toMatchObject({
        name: 'ClusterContainsServicesException',
        message: 'The Cluster cannot be deleted while Services are active.',
      });
    });
  });
}
