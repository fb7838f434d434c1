/**
 * The API surface real ECS clients expect of the resources Berth has, on every runtime, through
 * the AWS SDK: unknown actions, tags on every taggable resource, propagated tags, cluster settings
 * and configuration, account settings, and the validation ECS does on Describe calls.
 */
import {
  CreateClusterCommand,
  DescribeContainerInstancesCommand,
  DescribeTasksCommand,
  type ECSClient,
  ListClustersCommand,
  RegisterTaskDefinitionCommand,
  StartTaskCommand,
  UpdateContainerInstancesStateCommand,
} from '@aws-sdk/client-ecs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectRawAgent, helloFrame, type RawAgent } from '../../helpers/raw-agent';
import type { RunningRuntime, RuntimeHarness } from '../../helpers/runtimes';

const TARGET_PREFIX = 'AmazonEC2ContainerServiceV20141113.';
const CLUSTER = 'surface';
const FAMILY = 'surface-app';

export async function errorOf(
  promise: Promise<unknown>,
): Promise<{ name: string; message: string; status?: number }> {
  try {
    await promise;
  } catch (error) {
    const e = error as { name: string; message: string; $metadata?: { httpStatusCode?: number } };
    return { name: e.name, message: e.message, status: e.$metadata?.httpStatusCode };
  }
  throw new Error('expected the call to fail, but it succeeded');
}

/** A real SDK call whose X-Amz-Target is swapped for `action` on its way out. */
function sendAs(ecs: ECSClient, action: string) {
  const command = new ListClustersCommand({});
  command.middlewareStack.add(
    (next) => (args) => {
      const request = args.request as { headers: Record<string, string> };
      request.headers['x-amz-target'] = `${TARGET_PREFIX}${action}`;
      return next(args);
    },
    { step: 'build', name: 'swapTarget' },
  );
  return ecs.send(command);
}

export function defineApiSurfaceScenarios(harness: RuntimeHarness) {
  describe(`ECS API surface on the ${harness.name} runtime`, () => {
    let runtime: RunningRuntime;
    let ecs: ECSClient;
    /** A hand-driven agent joined to CLUSTER: tasks can be started on it without Docker. */
    let agent: RawAgent;
    let instanceArn: string;

    async function startTask(input: Partial<ConstructorParameters<typeof StartTaskCommand>[0]> = {}) {
      const out = await ecs.send(
        new StartTaskCommand({
          cluster: CLUSTER,
          taskDefinition: FAMILY,
          containerInstances: [instanceArn],
          ...input,
        }),
      );
      return out.tasks![0];
    }

    beforeAll(async () => {
      runtime = await harness.start();
      ecs = runtime.ecs;
      await ecs.send(new CreateClusterCommand({ clusterName: CLUSTER }));
      await ecs.send(
        new RegisterTaskDefinitionCommand({
          family: FAMILY,
          containerDefinitions: [{ name: 'main', image: 'busybox', memory: 16 }],
        }),
      );
      agent = await connectRawAgent(runtime.endpoint, CLUSTER, await runtime.mintJoinToken(CLUSTER));
      agent.send(helloFrame({ hostname: 'surface-host' }));
      instanceArn = (await agent.waitForFrame('welcome')).containerInstanceArn;
    });
    afterAll(async () => {
      agent?.close();
      await runtime?.close();
    });

    describe('unknown actions', () => {
      it('answers an action ECS does not have with UnknownOperationException, which the SDK names', async () => {
        const error = await errorOf(sendAs(ecs, 'LaunchRocket'));
        expect(error).toMatchObject({ name: 'UnknownOperationException', status: 400 });
        expect(error.message).toMatch(/LaunchRocket/);
      });

      it('answers a request without an ECS target the same way', async () => {
        const response = await fetch(runtime.endpoint, {
          method: 'POST',
          headers: { 'Content-Type': 'application/x-amz-json-1.1' },
          body: '{}',
        });
        expect(response.status).toBe(400);
        expect(response.headers.get('x-amzn-errortype')).toBe('UnknownOperationException');
        expect(((await response.json()) as { __type: string }).__type).toBe('UnknownOperationException');
      });

      it('still answers an ECS action Berth does not serve yet with UnsupportedFeatureException', async () => {
        const error = await errorOf(sendAs(ecs, 'CreateService'));
        expect(error).toMatchObject({ name: 'UnsupportedFeatureException', status: 400 });
      });
    });

    describe('validation ECS does', () => {
      it('refuses to describe an empty list of tasks or container instances', async () => {
        const noTasks = await errorOf(ecs.send(new DescribeTasksCommand({ cluster: CLUSTER, tasks: [] })));
        expect(noTasks).toMatchObject({ name: 'InvalidParameterException', status: 400 });
        expect(noTasks.message).toMatch(/^tasks: /);
        const noInstances = await errorOf(
          ecs.send(new DescribeContainerInstancesCommand({ cluster: CLUSTER, containerInstances: [] })),
        );
        expect(noInstances).toMatchObject({ name: 'InvalidParameterException', status: 400 });
        expect(noInstances.message).toMatch(/^containerInstances: /);
      });

      it('still answers a state change naming only unknown instances with failures, not that error', async () => {
        const out = await ecs.send(
          new UpdateContainerInstancesStateCommand({
            cluster: CLUSTER,
            containerInstances: ['0'.repeat(32)],
            status: 'DRAINING',
          }),
        );
        expect(out.containerInstances).toEqual([]);
        expect(out.failures).toEqual([expect.objectContaining({ reason: 'MISSING' })]);
      });

      it('reports the health of tasks and containers without health checks as UNKNOWN', async () => {
        const started = await startTask();
        expect(started.healthStatus).toBe('UNKNOWN');
        expect(started.containers!.map((c) => c.healthStatus)).toEqual(['UNKNOWN']);
        const [described] = (
          await ecs.send(new DescribeTasksCommand({ cluster: CLUSTER, tasks: [started.taskArn!] }))
        ).tasks!;
        expect(described.healthStatus).toBe('UNKNOWN');
        expect(described.containers!.map((c) => c.healthStatus)).toEqual(['UNKNOWN']);
      });
    });
  });
}
