/**
 * Deployments that fail, end to end on every runtime: the real AWS SDK against a real control
 * plane, with a raw-agent fleet that can make a revision's tasks stop at once, before RUNNING (a
 * container that exits as it starts). The circuit breaker trips and rolls back, StopServiceDeployment
 * rolls back or aborts, the failed-start back-off spaces launches out, and the deployment and
 * service-action events arrive on the cluster's event stream beside the task events.
 */
import {
  CreateClusterCommand,
  CreateServiceCommand,
  type CreateServiceCommandInput,
  DescribeServiceDeploymentsCommand,
  DescribeServicesCommand,
  DescribeTasksCommand,
  type ECSClient,
  ListServiceDeploymentsCommand,
  ListTasksCommand,
  RegisterTaskDefinitionCommand,
  type Service,
  type ServiceDeployment,
  StopServiceDeploymentCommand,
  UpdateServiceCommand,
  waitUntilServicesStable,
} from '@aws-sdk/client-ecs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorOf } from '../../helpers/ecs-errors';
import { type RawAgentFleet, startRawAgentFleet } from '../../helpers/raw-agent-fleet';
import type { RunningRuntime, RuntimeHarness } from '../../helpers/runtimes';
import { type SseMessage, SseReader } from '../../helpers/sse-reader';
import { waitFor } from '../../helpers/wait';

const CLUSTER = 'breaker';
const FAMILY = 'app';
const CRASHING_FAMILY = 'crash';
const HEALTHY_AFTER_MS = 300;
/** The back-off's first wait: 100, 200, 400, 800 ms ... between launches of a service whose tasks keep failing. */
const THROTTLE_BASE_MS = 100;
const WAITER = { minDelay: 1, maxDelay: 1, maxWaitTime: 60 };
const BREAKER = { enable: true, rollback: true };

interface StreamEvent {
  event: string;
  body: {
    'detail-type': string;
    source: string;
    resources: string[];
    detail: Record<string, unknown>;
  };
}

export function defineServiceBreakerScenarios(harness: RuntimeHarness) {
  describe(`failing deployments on the ${harness.name} runtime`, () => {
    let runtime: RunningRuntime;
    let ecs: ECSClient;
    let fleet: RawAgentFleet;
    let stream: SseReader;
    const streamed: StreamEvent[] = [];
    let good = '';
    let bad = '';
    let other = '';
    let crashing = '';

    const describeService = async (name: string): Promise<Service> =>
      (await ecs.send(new DescribeServicesCommand({ cluster: CLUSTER, services: [name] }))).services![0];
    const waitStable = (name: string) =>
      waitUntilServicesStable({ client: ecs, ...WAITER }, { cluster: CLUSTER, services: [name] });
    const waitCompleted = (name: string) =>
      waitFor(`service ${name}'s deployment to complete`, async () => {
        const service = await describeService(name);
        return (
          service.deployments?.length === 1 && service.deployments[0].rolloutState === 'COMPLETED' && service
        );
      });
    const create = async (input: Partial<CreateServiceCommandInput> & { serviceName: string }) => {
      await ecs.send(
        new CreateServiceCommand({ cluster: CLUSTER, taskDefinition: good, desiredCount: 2, ...input }),
      );
      await waitCompleted(input.serviceName).catch(async (error) => {
        throw new Error(
          `${String(error)}\n${JSON.stringify(await describeService(input.serviceName), null, 1)}`,
        );
      });
    };
    const deploymentsOf = async (name: string) =>
      (await ecs.send(new ListServiceDeploymentsCommand({ cluster: CLUSTER, service: name })))
        .serviceDeployments!;
    const describeDeployment = async (arn: string): Promise<ServiceDeployment> =>
      (await ecs.send(new DescribeServiceDeploymentsCommand({ serviceDeploymentArns: [arn] })))
        .serviceDeployments![0];
    const revisionOf = (arn: string) => Number(arn.slice(arn.lastIndexOf(':') + 1));
    /** The task definitions of the service's tasks that run, as DescribeTasks and the fleet both see them. */
    const runningDefinitions = async (serviceName: string) => {
      const listed = await ecs.send(
        new ListTasksCommand({ cluster: CLUSTER, serviceName, desiredStatus: 'RUNNING' }),
      );
      const described = await ecs.send(
        new DescribeTasksCommand({ cluster: CLUSTER, tasks: listed.taskArns! }),
      );
      for (const t of described.tasks!) expect(fleet.live.has(t.taskArn!)).toBe(true);
      return described.tasks!.map((t) => t.taskDefinitionArn);
    };
    const eventsOf = (serviceName: string) =>
      streamed.filter((e) => e.event !== 'task-state-change' && e.body.detail.serviceName === serviceName);

    beforeAll(async () => {
      runtime = await harness.start({
        taskHealthyAfterMs: HEALTHY_AFTER_MS,
        serviceThrottleBaseMs: THROTTLE_BASE_MS,
      });
      ecs = runtime.ecs;
      await ecs.send(new CreateClusterCommand({ clusterName: CLUSTER }));
      const arns: string[] = [];
      for (const tag of ['good', 'bad', 'other']) {
        const out = await ecs.send(
          new RegisterTaskDefinitionCommand({
            family: FAMILY,
            containerDefinitions: [
              { name: 'main', image: `example/app:${tag}`, cpu: 16, memory: 16, essential: true },
            ],
          }),
        );
        arns.push(out.taskDefinition!.taskDefinitionArn!);
      }
      [good, bad, other] = arns;
      // The throttled service's own family, so its failed starts are told apart from the others'.
      crashing = (
        await ecs.send(
          new RegisterTaskDefinitionCommand({
            family: CRASHING_FAMILY,
            containerDefinitions: [
              { name: 'main', image: 'example/crash:1', cpu: 16, memory: 16, essential: true },
            ],
          }),
        )
      ).taskDefinition!.taskDefinitionArn!;
      fleet = await startRawAgentFleet(runtime.endpoint, CLUSTER, () => runtime.mintJoinToken(CLUSTER), 2);
      // Tasks of the "bad" revision exit as they start, on every host, in every test.
      fleet.failStarts(
        (task) =>
          task.family === CRASHING_FAMILY || (task.family === FAMILY && task.revision === revisionOf(bad)),
      );
      stream = await SseReader.open(
        `${runtime.endpoint}/berth/v1/clusters/${CLUSTER}/task-events?after=0`,
        runtime.credentials,
      );
      void (async () => {
        for (;;) {
          let message: SseMessage;
          try {
            message = await stream.next(60_000);
          } catch {
            return;
          }
          if (message.data && message.event) {
            streamed.push({ event: message.event, body: JSON.parse(message.data) as StreamEvent['body'] });
          }
        }
      })();
    });

    afterAll(async () => {
      stream?.close();
      fleet?.close();
      await runtime?.close();
    });

    it('trips the circuit breaker on a revision whose tasks never start, and rolls back to the last completed one', async () => {
      await create({ serviceName: 'web', deploymentConfiguration: { deploymentCircuitBreaker: BREAKER } });
      const [first] = await deploymentsOf('web');
      const failedBefore = fleet.failedStarts.length;
      await ecs.send(new UpdateServiceCommand({ cluster: CLUSTER, service: 'web', taskDefinition: bad }));
      const [failing] = await deploymentsOf('web');
      expect(failing.targetServiceRevisionArn).not.toBe(first.targetServiceRevisionArn);

      await waitUntilServicesStable({ client: ecs, ...WAITER }, { cluster: CLUSTER, services: ['web'] });
      const service = await describeService('web');
      expect(service.taskDefinition).toBe(good);
      expect(service.deployments).toHaveLength(1);
      expect(service.deployments![0]).toMatchObject({ taskDefinition: good, runningCount: 2 });
      expect(await runningDefinitions('web')).toEqual([good, good]);
      // The default threshold for 2 tasks is 3 (ceil(0.5 × 2) clamped to [3, 200]): at least 3 failed starts.
      const failedStarts = fleet.failedStarts.slice(failedBefore);
      expect(failedStarts.length).toBeGreaterThanOrEqual(3);
      const messages = service.events!.map((e) => e.message);
      expect(messages).toContain(
        `(service web) (deployment ecs-svc/${failing.serviceDeploymentArn!.split('/').pop()}) deployment failed: tasks failed to start.`,
      );
      expect(messages).toContain(
        `(service web) rolling back to deployment ecs-svc/${first.serviceDeploymentArn!.split('/').pop()}.`,
      );

      const rolledBack = await waitFor('the rollback to succeed', async () => {
        const d = await describeDeployment(failing.serviceDeploymentArn!);
        return d.status === 'ROLLBACK_SUCCESSFUL' && d;
      });
      expect(rolledBack).toMatchObject({
        statusReason: 'ECS deployment circuit breaker: tasks failed to start.',
        rollback: { serviceRevisionArn: first.targetServiceRevisionArn },
        deploymentCircuitBreaker: { status: 'TRIGGERED', threshold: 3 },
      });
      expect(rolledBack.rollback!.reason).toMatch(
        /^ECS deployment circuit breaker: rolling back to deploymentId ecs-svc\/\d+\.$/,
      );
      expect(rolledBack.deploymentCircuitBreaker!.failureCount).toBeGreaterThanOrEqual(3);
      // The rollback reused the revision: no new one, and the history still has two service deployments.
      const history = await deploymentsOf('web');
      expect(history.map((d) => d.status)).toEqual(['ROLLBACK_SUCCESSFUL', 'SUCCESSFUL']);
      expect(service.currentServiceRevisions!.map((r) => r.arn)).toEqual([first.targetServiceRevisionArn]);
    });

    it('without rollback, fails the deployment, shows failedTasks, and launches nothing more', async () => {
      await create({
        serviceName: 'halt',
        deploymentConfiguration: {
          deploymentCircuitBreaker: {
            enable: true,
            rollback: false,
            resetOnHealthyTask: false,
            thresholdConfiguration: { type: 'COUNT', value: 2 },
          },
        },
      });
      const shown = (await describeService('halt')).deploymentConfiguration!.deploymentCircuitBreaker;
      expect(shown).toEqual({
        enable: true,
        rollback: false,
        resetOnHealthyTask: false,
        thresholdConfiguration: { type: 'COUNT', value: 2 },
      });
      await ecs.send(new UpdateServiceCommand({ cluster: CLUSTER, service: 'halt', taskDefinition: bad }));
      const failed = await waitFor('the deployment to fail', async () => {
        const service = await describeService('halt');
        return (
          service.deployments?.find((d) => d.status === 'PRIMARY' && d.rolloutState === 'FAILED') && service
        );
      });
      const primary = failed.deployments!.find((d) => d.status === 'PRIMARY')!;
      expect(primary.rolloutStateReason).toBe('ECS deployment circuit breaker: tasks failed to start.');
      expect(primary.failedTasks).toBeGreaterThanOrEqual(2);
      expect(failed.runningCount).toBe(2);
      const launched = fleet.failedStarts.length;
      // Ten first waits of the back-off: a deployment still launching would have tried again.
      await new Promise((resolve) => setTimeout(resolve, 10 * THROTTLE_BASE_MS));
      expect(fleet.failedStarts.length).toBe(launched);
      const [brief] = await deploymentsOf('halt');
      expect(brief.status).toBe('STOPPED');
      expect((await describeDeployment(brief.serviceDeploymentArn!)).deploymentCircuitBreaker).toMatchObject({
        status: 'TRIGGERED',
        threshold: 2,
      });
      // A finished deployment cannot be stopped.
      const error = await errorOf(
        ecs.send(
          new StopServiceDeploymentCommand({
            serviceDeploymentArn: brief.serviceDeploymentArn!,
            stopType: 'ROLLBACK',
          }),
        ),
      );
      expect(error.name).toBe('ConflictException');
      expect(error.message).toMatch(/serviceDeploymentArn: .*STOPPED/);
    });

    it('StopServiceDeployment ROLLBACK rolls back a service without rollback configured', async () => {
      await create({ serviceName: 'manual' });
      const [first] = await deploymentsOf('manual');
      await ecs.send(new UpdateServiceCommand({ cluster: CLUSTER, service: 'manual', taskDefinition: bad }));
      const [stuck] = await deploymentsOf('manual');
      expect(stuck.status).toBe('IN_PROGRESS');
      const out = await ecs.send(
        new StopServiceDeploymentCommand({
          serviceDeploymentArn: stuck.serviceDeploymentArn!,
          stopType: 'ROLLBACK',
        }),
      );
      expect(out.serviceDeploymentArn).toBe(stuck.serviceDeploymentArn);
      await waitStable('manual');
      const service = await describeService('manual');
      expect(service).toMatchObject({ taskDefinition: good, runningCount: 2 });
      expect(await runningDefinitions('manual')).toEqual([good, good]);
      const described = await waitFor('the manual rollback to succeed', async () => {
        const d = await describeDeployment(stuck.serviceDeploymentArn!);
        return d.status === 'ROLLBACK_SUCCESSFUL' && d;
      });
      expect(described.rollback).toMatchObject({ serviceRevisionArn: first.targetServiceRevisionArn });
      expect(described.deploymentCircuitBreaker).toMatchObject({ status: 'DISABLED' });
    });

    it('StopServiceDeployment ABORT stops a deployment where it is: STOPPED, no more launches, old tasks kept', async () => {
      await create({ serviceName: 'abort' });
      await ecs.send(new UpdateServiceCommand({ cluster: CLUSTER, service: 'abort', taskDefinition: bad }));
      const [stuck] = await deploymentsOf('abort');
      await ecs.send(
        new StopServiceDeploymentCommand({
          serviceDeploymentArn: stuck.serviceDeploymentArn!,
          stopType: 'ABORT',
        }),
      );
      const described = await describeDeployment(stuck.serviceDeploymentArn!);
      expect(described.status).toBe('STOPPED');
      expect(described.stoppedAt).toBeDefined();
      const launched = fleet.failedStarts.length;
      await new Promise((resolve) => setTimeout(resolve, 10 * THROTTLE_BASE_MS));
      expect(fleet.failedStarts.length).toBe(launched);
      const service = await describeService('abort');
      expect(service.runningCount).toBe(2);
      expect(service.deployments!.find((d) => d.status === 'PRIMARY')).toMatchObject({
        taskDefinition: bad,
        rolloutState: 'FAILED',
      });
      const again = await errorOf(
        ecs.send(
          new StopServiceDeploymentCommand({
            serviceDeploymentArn: stuck.serviceDeploymentArn!,
            stopType: 'ABORT',
          }),
        ),
      );
      expect(again.name).toBe('ConflictException');
      // A new deployment after an abort proceeds as usual.
      await ecs.send(new UpdateServiceCommand({ cluster: CLUSTER, service: 'abort', taskDefinition: other }));
      await waitStable('abort');
      expect((await describeService('abort')).taskDefinition).toBe(other);
    });

    it('refuses hostile StopServiceDeployment calls with the ECS error naming the field', async () => {
      const [completed] = await deploymentsOf('web');
      const arn = completed.serviceDeploymentArn!;
      const stop = (serviceDeploymentArn: string, stopType?: string) =>
        errorOf(
          ecs.send(
            new StopServiceDeploymentCommand({
              serviceDeploymentArn,
              stopType: stopType as 'ROLLBACK' | undefined,
            }),
          ),
        );
      for (const malformed of [
        '',
        'nope',
        arn.replace('service-deployment', 'service'),
        `${arn}/x`,
        `${arn}z`,
      ]) {
        const error = await stop(malformed);
        expect(error.name, malformed).toBe('InvalidParameterException');
        expect(error.message, malformed).toMatch(/serviceDeploymentArn/);
        expect(error.status).toBe(400);
      }
      for (const unknown of [
        arn.replace(/\d+$/, '1234567890123456789'),
        arn.replace(`/${CLUSTER}/`, '/no-such-cluster/'),
        arn.replace('/web/', '/no-such-service/'),
        arn.replace('000000000000', '111111111111'),
      ]) {
        const error = await stop(unknown);
        expect(error.name, unknown).toBe('ServiceDeploymentNotFoundException');
        expect(error.message).toMatch(/serviceDeploymentArn/);
      }
      const wrongType = await stop(arn, 'PAUSE');
      expect(wrongType.name).toBe('InvalidParameterException');
      expect(wrongType.message).toMatch(/stopType/);
      // The rollback's ROLLBACK_SUCCESSFUL deployment and the completed one are both finished.
      expect((await stop(arn)).name).toBe('ConflictException');
      // A bad breaker configuration is refused, naming the field, and changes nothing.
      const bad = await errorOf(
        ecs.send(
          new UpdateServiceCommand({
            cluster: CLUSTER,
            service: 'web',
            deploymentConfiguration: {
              deploymentCircuitBreaker: {
                ...BREAKER,
                thresholdConfiguration: { type: 'BOUNDED_PERCENT', value: 0 },
              },
            },
          }),
        ),
      );
      expect(bad).toMatchObject({ name: 'InvalidParameterException' });
      expect(bad.message).toMatch(/deploymentCircuitBreaker\.thresholdConfiguration\.value/);
      expect((await describeService('web')).deploymentConfiguration!.deploymentCircuitBreaker).toMatchObject({
        thresholdConfiguration: { type: 'BOUNDED_PERCENT', value: 50 },
      });
    });

    it('backs off launches of tasks that keep failing to start, says so, and resets on a new task definition', async () => {
      await ecs.send(
        new CreateServiceCommand({
          cluster: CLUSTER,
          serviceName: 'throttle',
          taskDefinition: crashing,
          desiredCount: 1,
        }),
      );
      const serviceArn = (await describeService('throttle')).serviceArn!;
      const starts = await waitFor(
        'five failed starts of the throttled service',
        () => {
          const mine = fleet.failedStarts.filter((f) => f.family === CRASHING_FAMILY);
          return mine.length >= 5 && mine;
        },
        30_000,
      );
      // Each launch waits at least base × 2^(n−1) after the n-th failure: 100, 200, 400, 800 ms.
      for (let n = 1; n < 5; n += 1) {
        const gap = starts[n].atMs - starts[n - 1].atMs;
        expect(gap, `gap after failure ${n}`).toBeGreaterThanOrEqual(THROTTLE_BASE_MS * 2 ** (n - 1) - 5);
      }
      const service = await describeService('throttle');
      const messages = service.events!.map((e) => e.message);
      expect(messages).toContain('(service throttle) is unable to consistently start tasks successfully.');
      expect(messages).toContain('(service throttle) operations are being throttled. Will try again later.');
      const impaired = eventsOf('throttle').find(
        (e) => e.body.detail.eventName === 'SERVICE_TASK_START_IMPAIRED',
      );
      expect(impaired?.body).toMatchObject({ 'detail-type': 'ECS Service Action', resources: [serviceArn] });
      // A new task definition resets the back-off: the good task starts at once.
      const before = Date.now();
      await ecs.send(
        new UpdateServiceCommand({ cluster: CLUSTER, service: 'throttle', taskDefinition: good }),
      );
      await waitStable('throttle');
      expect(Date.now() - before).toBeLessThan(THROTTLE_BASE_MS * 2 ** 4);
    });

    it('puts deployment state changes and service actions on the event stream in EventBridge shape', async () => {
      const web = await describeService('web');
      const events = await waitFor('the web service events on the stream', () => {
        const mine = eventsOf('web');
        return mine.some((e) => e.body.detail.eventName === 'SERVICE_STEADY_STATE') && mine;
      });
      const deployment = events.filter((e) => e.event === 'deployment-state-change');
      for (const e of events) {
        expect(e.body).toMatchObject({ source: 'aws.ecs', resources: [web.serviceArn] });
        expect(e.body.detail).toMatchObject({
          clusterArn: web.clusterArn,
          serviceArn: web.serviceArn,
          serviceName: 'web',
          clusterName: CLUSTER,
        });
      }
      expect(deployment.every((e) => e.body['detail-type'] === 'ECS Deployment State Change')).toBe(true);
      const names = deployment.map((e) => e.body.detail.eventName);
      // Created (in progress, completed), the bad revision (in progress, failed), the rollback (in progress, completed).
      expect(names).toEqual([
        'SERVICE_DEPLOYMENT_IN_PROGRESS',
        'SERVICE_DEPLOYMENT_COMPLETED',
        'SERVICE_DEPLOYMENT_IN_PROGRESS',
        'SERVICE_DEPLOYMENT_FAILED',
        'SERVICE_DEPLOYMENT_IN_PROGRESS',
        'SERVICE_DEPLOYMENT_COMPLETED',
      ]);
      const failed = deployment[3].body.detail;
      expect(failed).toMatchObject({
        eventType: 'ERROR',
        reason: 'ECS deployment circuit breaker: tasks failed to start.',
      });
      expect(failed.deploymentId).toMatch(/^ecs-svc\/\d{19}$/);
      expect(deployment[4].body.detail.reason).toMatch(
        /^ECS deployment circuit breaker: rolling back to deploymentId/,
      );
      const actions = events.filter((e) => e.event === 'service-action');
      expect(actions.every((e) => e.body['detail-type'] === 'ECS Service Action')).toBe(true);
      // The scheduler's stops (the abort test's next deployment replaced the old tasks).
      const stopped = await waitFor('a TASKS_STOPPED action', () =>
        eventsOf('abort').find((e) => e.body.detail.eventName === 'TASKS_STOPPED'),
      );
      expect(stopped.body.detail.taskIds).toEqual(expect.arrayContaining([expect.stringMatching(/^\w+$/)]));
      // A task no instance can take: SERVICE_TASK_PLACEMENT_FAILURE with placement's reason.
      await ecs.send(
        new CreateServiceCommand({
          cluster: CLUSTER,
          serviceName: 'nowhere',
          taskDefinition: good,
          desiredCount: 1,
          placementConstraints: [{ type: 'memberOf', expression: 'attribute:zone == nowhere' }],
        }),
      );
      const placement = await waitFor('a placement failure on the stream', () =>
        eventsOf('nowhere').find((e) => e.body.detail.eventName === 'SERVICE_TASK_PLACEMENT_FAILURE'),
      );
      // Placement's first reason: MemberOf, unless a starved machine made an agent miss its
      // heartbeats (AGENT comes first then).
      expect(placement.body.detail.eventType).toBe('WARN');
      expect(['MemberOf', 'AGENT']).toContain(placement.body.detail.reason);
      // Task events are unchanged: the same SSE name and shape as before.
      const task = streamed.find((e) => e.event === 'task-state-change');
      expect(task?.body['detail-type']).toBe('ECS Task State Change');
    });
  });
}
