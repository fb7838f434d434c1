/**
 * Berth's deployment extensions end to end, on every runtime: the settings set as `berth:` service
 * tags through the real SDK, the controls through the Berth API (pause, resume, rollback to any
 * revision, stop and start), with a fleet of raw agents whose account of what runs is checked at
 * every start and stop. Each service has a task definition family of its own, so the fleet's tasks
 * say which service they belong to.
 */
import {
  CreateClusterCommand,
  CreateServiceCommand,
  type CreateServiceCommandInput,
  DescribeServiceRevisionsCommand,
  DescribeServicesCommand,
  type ECSClient,
  ListServiceDeploymentsCommand,
  RegisterTaskDefinitionCommand,
  type Service,
  TagResourceCommand,
  UpdateServiceCommand,
  waitUntilServicesStable,
} from '@aws-sdk/client-ecs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signedFetch } from '../../helpers/credentials';
import { errorOf } from '../../helpers/ecs-errors';
import { type FleetTask, type RawAgentFleet, startRawAgentFleet } from '../../helpers/raw-agent-fleet';
import type { RunningRuntime, RuntimeHarness } from '../../helpers/runtimes';
import { waitFor } from '../../helpers/wait';

const CLUSTER = 'service-extensions';
const HEALTHY_AFTER_MS = 200;
const GRACE_MS = 300;
const WAITER = { minDelay: 1, maxDelay: 1, maxWaitTime: 60 };

export function defineServiceExtensionScenarios(harness: RuntimeHarness) {
  describe(`Berth's service extensions on the ${harness.name} runtime`, () => {
    let runtime: RunningRuntime;
    let ecs: ECSClient;
    let fleet: RawAgentFleet;
    const revisionsOf = new Map<string, string[]>();

    const describeService = async (name: string): Promise<Service> =>
      (await ecs.send(new DescribeServicesCommand({ cluster: CLUSTER, services: [name], include: ['TAGS'] })))
        .services![0];
    const waitStable = (name: string) =>
      waitUntilServicesStable({ client: ecs, ...WAITER }, { cluster: CLUSTER, services: [name] });
    const waitEvent = (name: string, pattern: RegExp) =>
      waitFor(`service ${name}: an event matching ${pattern}`, async () => {
        const service = await describeService(name);
        return service.events?.some((e) => pattern.test(e.message ?? '')) && service;
      });
    /** Stable and steady: every task counts as healthy, so a rollout starts from a settled service. */
    const waitSteady = async (name: string) => {
      await waitStable(name);
      await waitEvent(name, /has reached a steady state/);
    };
    /** Revisions 1 and 2 differ in their image; revision 3 has a health check the fleet never passes. */
    const register = async (name: string) => {
      const arns: string[] = [];
      for (const tag of ['1', '2', '3']) {
        const out = await ecs.send(
          new RegisterTaskDefinitionCommand({
            family: `ext-${name}`,
            containerDefinitions: [
              {
                name: 'main',
                image: `example/ext:${tag}`,
                cpu: 16,
                memory: 8,
                essential: true,
                ...(tag === '3' ? { healthCheck: { command: ['CMD-SHELL', 'exit 0'] } } : {}),
              },
            ],
          }),
        );
        arns.push(out.taskDefinition!.taskDefinitionArn!);
      }
      revisionsOf.set(name, arns);
    };
    const revision = (name: string, n: 1 | 2 | 3) => revisionsOf.get(name)![n - 1];
    const create = async (input: Partial<CreateServiceCommandInput> & { serviceName: string }) => {
      await register(input.serviceName);
      return ecs.send(
        new CreateServiceCommand({
          cluster: CLUSTER,
          taskDefinition: revision(input.serviceName, 1),
          desiredCount: 2,
          ...input,
        }),
      );
    };
    const update = (name: string, n: 1 | 2 | 3, extra: { forceNewDeployment?: boolean } = {}) =>
      ecs.send(
        new UpdateServiceCommand({
          cluster: CLUSTER,
          service: name,
          taskDefinition: revision(name, n),
          ...extra,
        }),
      );
    const tasksOf = (name: string): FleetTask[] =>
      [...fleet.live.values()].filter((t) => t.family === `ext-${name}`);
    const liveOf = async (name: string) => tasksOf(name);
    const control = async (service: string, action: string, body?: unknown) => {
      const response = await signedFetch(
        `${runtime.endpoint}/berth/v1/clusters/${CLUSTER}/services/${service}/${action}`,
        {
          method: 'POST',
          body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
        },
        runtime.credentials,
      );
      return {
        status: response.status,
        body: (await response.json()) as Record<string, unknown> & { service?: Service },
      };
    };
    /** Watches one service's live task count on the fleet at every start and stop. */
    const watchCount = (name: string) => {
      const counts: number[] = [];
      fleet.onChange(() => counts.push(tasksOf(name).length));
      return counts;
    };

    beforeAll(async () => {
      runtime = await harness.start({
        taskHealthyAfterMs: HEALTHY_AFTER_MS,
        agentDisconnectGraceMs: GRACE_MS,
      });
      ecs = runtime.ecs;
      await ecs.send(new CreateClusterCommand({ clusterName: CLUSTER }));
      fleet = await startRawAgentFleet(runtime.endpoint, CLUSTER, () => runtime.mintJoinToken(CLUSTER), 3);
    });

    afterAll(async () => {
      fleet?.close();
      await runtime?.close();
    });

    it('refuses an unknown berth: setting or an unreadable value, naming the tag, and stores nothing', async () => {
      const bad = [
        [
          { key: 'berth:update-order', value: 'sideways' },
          /tags\[0\] \(berth:update-order\).*start-first, stop-first/,
        ],
        [{ key: 'berth:progress-deadline', value: '10 minutes' }, /berth:progress-deadline.*not a duration/],
        [{ key: 'berth:min-healthy-time', value: '25h' }, /berth:min-healthy-time/],
        [
          { key: 'berth:no-such-thing', value: '1' },
          /tags\[0\]\.key: 'berth:no-such-thing' is not a Berth setting/,
        ],
      ] as const;
      for (const [tag, message] of bad) {
        const error = await errorOf(create({ serviceName: 'refused', tags: [tag] }));
        expect(error.name).toBe('InvalidParameterException');
        expect(error.message).toMatch(message);
      }
      const described = await ecs.send(
        new DescribeServicesCommand({ cluster: CLUSTER, services: ['refused'] }),
      );
      expect(described.failures?.[0]?.reason).toBe('MISSING');

      const ok = await create({
        serviceName: 'tagged',
        desiredCount: 0,
        tags: [{ key: 'berth:update-order', value: 'stop-first' }],
      });
      const error = await errorOf(
        ecs.send(
          new TagResourceCommand({
            resourceArn: ok.service!.serviceArn!,
            tags: [{ key: 'berth:disconnect-reconcile', value: 'keep-both' }],
          }),
        ),
      );
      expect(error.name).toBe('InvalidParameterException');
      expect(error.message).toMatch(/berth:disconnect-reconcile.*keep-original, keep-replacement/);
      expect((await describeService('tagged')).tags).toEqual([
        { key: 'berth:update-order', value: 'stop-first' },
      ]);
    });

    it('rolls out stop-first: never more tasks than desiredCount, even with maximumPercent 200', async () => {
      await create({ serviceName: 'stopfirst', tags: [{ key: 'berth:update-order', value: 'stop-first' }] });
      await waitSteady('stopfirst');
      const counts = watchCount('stopfirst');
      await update('stopfirst', 2);
      await waitFor('every stopfirst task on revision 2', async () => {
        const live = await liveOf('stopfirst');
        return live.length === 2 && live.every((t) => t.revision === 2);
      });
      await waitStable('stopfirst');
      expect(counts.length).toBeGreaterThanOrEqual(4);
      expect(Math.max(...counts)).toBeLessThanOrEqual(2);
    });

    it('rolls out start-first: never fewer running tasks than desiredCount, even with minimumHealthyPercent 0', async () => {
      await create({
        serviceName: 'startfirst',
        deploymentConfiguration: { minimumHealthyPercent: 0, maximumPercent: 200 },
        tags: [{ key: 'berth:update-order', value: 'start-first' }],
      });
      await waitSteady('startfirst');
      const stops: number[] = [];
      fleet.onChange((event, task) => {
        if (event === 'stop' && task.family === 'ext-startfirst') stops.push(tasksOf('startfirst').length);
      });
      await update('startfirst', 2);
      await waitFor('every startfirst task on revision 2', async () => {
        const live = await liveOf('startfirst');
        return live.length === 2 && live.every((t) => t.revision === 2);
      });
      // At each stop, the stopped task is still counted: desiredCount others plus itself.
      expect(stops).toHaveLength(2);
      for (const count of stops) expect(count).toBeGreaterThanOrEqual(3);
    });

    it('counts a new task only after it stayed healthy for the minimum healthy time', async () => {
      await create({
        serviceName: 'minhealthy',
        desiredCount: 1,
        tags: [{ key: 'berth:min-healthy-time', value: '2s' }],
      });
      await waitSteady('minhealthy');
      const [old] = await liveOf('minhealthy');
      let oldStoppedAt = 0;
      let newStartedAt = 0;
      fleet.onChange((event, task) => {
        if (event === 'stop' && task.taskArn === old.taskArn) oldStoppedAt = Date.now();
        if (event === 'run' && !newStartedAt && task.revision === 2) newStartedAt = Date.now();
      });
      await update('minhealthy', 2);
      await waitFor('the old task to stop', () => oldStoppedAt > 0);
      // Healthy 200 ms after RUNNING, then 2 s more before it counts and the old one may stop.
      expect(oldStoppedAt - newStartedAt).toBeGreaterThanOrEqual(2000);
    });

    it('pauses a rolling deployment, which then takes no step, and resumes it', async () => {
      await create({ serviceName: 'pausable', tags: [{ key: 'berth:min-healthy-time', value: '1s' }] });
      await waitSteady('pausable');
      await update('pausable', 2);
      const paused = await control('pausable', 'pause');
      expect(paused.status).toBe(200);
      expect(paused.body.service?.events?.[0]?.message).toMatch(
        /\(service pausable\) \(deployment ecs-svc\/\d+\) deployment paused\./,
      );
      // The new tasks are healthy long enough after 1.2 s; paused, the old ones must still run after 2 s.
      await new Promise((resolve) => setTimeout(resolve, 2000));
      const during = await liveOf('pausable');
      expect(during.filter((t) => t.revision === 1)).toHaveLength(2);
      expect((await describeService('pausable')).deployments).toHaveLength(2);
      const again = await control('pausable', 'pause');
      expect(again.status).toBe(200);

      const resumed = await control('pausable', 'resume');
      expect(resumed.status).toBe(200);
      await waitStable('pausable');
      const after = await liveOf('pausable');
      expect(after.map((t) => t.revision)).toEqual([2, 2]);
      const twice = await control('pausable', 'resume');
      expect(twice.status).toBe(400);
      expect(twice.body).toMatchObject({ __type: 'ConflictException' });
      expect(String(twice.body.message)).toMatch(/no paused deployment/);
    });

    it('fails a deployment that makes no progress within the progress deadline, launching nothing more', async () => {
      await create({
        serviceName: 'deadline',
        desiredCount: 1,
        tags: [{ key: 'berth:progress-deadline', value: '1s' }],
      });
      await waitSteady('deadline');
      // Revision 3 has a health check the fleet never reports HEALTHY: its task never counts.
      await update('deadline', 3);
      const failed = await waitFor('the deployment to fail', async () => {
        const service = await describeService('deadline');
        return service.deployments?.[0]?.rolloutState === 'FAILED' && service;
      });
      expect(failed.deployments![0].rolloutStateReason).toBe(
        'Berth progress deadline: the deployment made no progress for 1 s.',
      );
      expect(failed.events!.map((e) => e.message)).toContain(
        `(service deadline) (deployment ${failed.deployments![0].id}) deployment failed: no progress within the progress deadline.`,
      );
      const live = await liveOf('deadline');
      // The old task still serves; the one new task started before the deadline is all there is.
      expect(live.filter((t) => t.revision === 1)).toHaveLength(1);
      expect(live.filter((t) => t.revision === 3).length).toBeLessThanOrEqual(1);
    });

    it('rolls back to any earlier revision through the Berth API, and refuses what is not one', async () => {
      await create({ serviceName: 'rollback', desiredCount: 1 });
      await waitStable('rollback');
      await update('rollback', 2);
      await waitStable('rollback');
      await update('rollback', 1, { forceNewDeployment: true });
      await waitStable('rollback');
      // Three deployments: revision 1, 2, then 1 again. Go back to the second, the one on revision 2.
      const history = await ecs.send(
        new ListServiceDeploymentsCommand({ cluster: CLUSTER, service: 'rollback' }),
      );
      const oldest = history.serviceDeployments!.at(-1)!;
      const middle = history.serviceDeployments![1];
      const target = middle.targetServiceRevisionArn!;
      const described = await ecs.send(
        new DescribeServiceRevisionsCommand({ serviceRevisionArns: [target] }),
      );
      expect(described.serviceRevisions![0].taskDefinition).toBe(revision('rollback', 2));

      const rolled = await control('rollback', 'rollback', { serviceRevisionArn: target });
      expect(rolled.status).toBe(200);
      expect(rolled.body.service?.taskDefinition).toBe(revision('rollback', 2));
      expect(rolled.body.service?.events?.map((e) => e.message)).toContainEqual(
        expect.stringMatching(/\(service rollback\) rolling back to deployment ecs-svc\/\d+\./),
      );
      await waitStable('rollback');
      expect((await liveOf('rollback')).map((t) => t.revision)).toEqual([2]);

      const refusals: [unknown, string, RegExp][] = [
        [{}, 'InvalidParameterException', /serviceRevisionArn: '' is not a service-revision ARN/],
        [
          { serviceRevisionArn: oldest.serviceDeploymentArn },
          'InvalidParameterException',
          /is not a service-revision ARN/,
        ],
        [
          { serviceRevisionArn: target.replace(/\/rollback\//, '/other/') },
          'InvalidParameterException',
          /is not a revision of service rollback/,
        ],
        ['{not json', 'InvalidParameterException', /body: not valid JSON/],
        ['[1]', 'InvalidParameterException', /body: must be a JSON object/],
      ];
      for (const [body, type, message] of refusals) {
        const answer = await control('rollback', 'rollback', body);
        expect(answer.status).toBe(400);
        expect(answer.body.__type).toBe(type);
        expect(String(answer.body.message)).toMatch(message);
      }
      const unknownControl = await control('rollback', 'explode');
      expect(unknownControl.body.message).toMatch(
        /control: 'explode' must be one of pause, resume, rollback, stop, start/,
      );
      const noService = await control('no-such-service', 'stop');
      expect(noService.body.__type).toBe('ServiceNotFoundException');
      expect((await describeService('rollback')).taskDefinition).toBe(revision('rollback', 2));
    });

    it('stops a service keeping its definition and starts it again at its previous count', async () => {
      await create({
        serviceName: 'sleepy',
        desiredCount: 3,
        tags: [{ key: 'berth:update-order', value: 'start-first' }],
      });
      await waitStable('sleepy');
      const stopped = await control('sleepy', 'stop');
      expect(stopped.status).toBe(200);
      expect(stopped.body.service).toMatchObject({
        status: 'ACTIVE',
        desiredCount: 0,
        taskDefinition: revision('sleepy', 1),
      });
      await waitFor('no sleepy task left', async () => (await liveOf('sleepy')).length === 0);
      expect((await control('sleepy', 'stop')).body.__type).toBe('ConflictException');

      const started = await control('sleepy', 'start');
      expect(started.body.service).toMatchObject({ desiredCount: 3 });
      await waitStable('sleepy');
      expect(await liveOf('sleepy')).toHaveLength(3);
      const service = await describeService('sleepy');
      expect(service.tags).toEqual([{ key: 'berth:update-order', value: 'start-first' }]);
      expect((await control('sleepy', 'start')).body.__type).toBe('ConflictException');
    });

    for (const rule of ['keep-original', 'keep-replacement'] as const) {
      it(`replaces the tasks of a host disconnected too long, and keeps one copy (${rule}) when it returns`, async () => {
        const name = `lost-${rule}`;
        await create({
          serviceName: name,
          desiredCount: 1,
          tags: [
            { key: 'berth:disconnect-replace-after', value: '1s' },
            { key: 'berth:disconnect-reconcile', value: rule },
          ],
        });
        await waitStable(name);
        const [original] = await liveOf(name);
        const index = fleet.hosts.findIndex((h) => h.instanceArn === original.instanceArn);
        fleet.disconnectHost(index);
        // Grace (300 ms) then 1 s: the task counts as lost and a replacement starts elsewhere.
        const replacement = await waitFor(`a replacement for ${name}`, async () =>
          (await liveOf(name)).find((t) => t.taskArn !== original.taskArn),
        );
        expect(replacement.instanceArn).not.toBe(original.instanceArn);
        expect(fleet.live.has(original.taskArn)).toBe(true);

        await fleet.reconnectHost(index, runtime.endpoint);
        const kept = rule === 'keep-original' ? original : replacement;
        await waitFor(`exactly one copy of ${name} (${rule})`, async () => {
          const live = await liveOf(name);
          return live.length === 1 && live[0].taskArn === kept.taskArn;
        });
        await waitStable(name);
      });
    }
  });
}
