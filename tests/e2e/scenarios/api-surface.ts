/**
 * The API surface real ECS clients expect of the resources Berth has, on every runtime, through
 * the AWS SDK: unknown actions and the validation ECS does on Describe calls here; beside it, all
 * on one runtime start, tags (api-surface-tags.ts, api-surface-propagate-tags.ts) and cluster and
 * account settings (api-surface-cluster-settings.ts, api-surface-account-settings.ts).
 */
import {
  DescribeContainerInstancesCommand,
  DescribeTasksCommand,
  type ECSClient,
  ListClustersCommand,
  UpdateContainerInstancesStateCommand,
} from '@aws-sdk/client-ecs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signedFetch } from '../../helpers/credentials';
import { errorOf } from '../../helpers/ecs-errors';
import type { RuntimeHarness } from '../../helpers/runtimes';
import { defineAccountSettingScenarios } from './api-surface-account-settings';
import { defineClusterSettingScenarios } from './api-surface-cluster-settings';
import { type ApiSurface, SURFACE_CLUSTER, startApiSurface } from './api-surface-context';
import { definePropagateTagScenarios } from './api-surface-propagate-tags';
import { defineTagScenarios } from './api-surface-tags';

const TARGET_PREFIX = 'AmazonEC2ContainerServiceV20141113.';

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
    /** Filled in before the first test; the scenario files read it only inside their tests. */
    const surface = {} as ApiSurface;

    beforeAll(async () => {
      Object.assign(surface, await startApiSurface(harness));
    });
    afterAll(async () => {
      surface.agent?.close();
      await surface.runtime?.close();
    });

    describe('unknown actions', () => {
      it('answers an action ECS does not have with UnknownOperationException, which the SDK names', async () => {
        const error = await errorOf(sendAs(surface.ecs, 'LaunchRocket'));
        expect(error).toMatchObject({ name: 'UnknownOperationException', status: 400 });
        expect(error.message).toMatch(/LaunchRocket/);
      });

      it('answers a request without an ECS target the same way', async () => {
        const response = await signedFetch(
          surface.runtime.endpoint,
          { method: 'POST', headers: { 'Content-Type': 'application/x-amz-json-1.1' }, body: '{}' },
          surface.runtime.credentials,
        );
        expect(response.status).toBe(400);
        expect(response.headers.get('x-amzn-errortype')).toBe('UnknownOperationException');
        expect(((await response.json()) as { __type: string }).__type).toBe('UnknownOperationException');
      });

      it('still answers an ECS action Berth does not serve yet with UnsupportedFeatureException', async () => {
        const error = await errorOf(sendAs(surface.ecs, 'CreateTaskSet'));
        expect(error).toMatchObject({ name: 'UnsupportedFeatureException', status: 400 });
      });
    });

    describe('validation ECS does', () => {
      it('refuses to describe an empty list of tasks or container instances', async () => {
        const noTasks = await errorOf(
          surface.ecs.send(new DescribeTasksCommand({ cluster: SURFACE_CLUSTER, tasks: [] })),
        );
        expect(noTasks).toMatchObject({ name: 'InvalidParameterException', status: 400 });
        expect(noTasks.message).toMatch(/^tasks: /);
        const noInstances = await errorOf(
          surface.ecs.send(
            new DescribeContainerInstancesCommand({ cluster: SURFACE_CLUSTER, containerInstances: [] }),
          ),
        );
        expect(noInstances).toMatchObject({ name: 'InvalidParameterException', status: 400 });
        expect(noInstances.message).toMatch(/^containerInstances: /);
      });

      it('still answers a state change naming only unknown instances with failures, not that error', async () => {
        const out = await surface.ecs.send(
          new UpdateContainerInstancesStateCommand({
            cluster: SURFACE_CLUSTER,
            containerInstances: ['0'.repeat(32)],
            status: 'DRAINING',
          }),
        );
        expect(out.containerInstances).toEqual([]);
        expect(out.failures).toEqual([expect.objectContaining({ reason: 'MISSING' })]);
      });

      it('reports the health of tasks and containers without health checks as UNKNOWN', async () => {
        const started = await surface.startTask();
        expect(started.healthStatus).toBe('UNKNOWN');
        expect(started.containers!.map((c) => c.healthStatus)).toEqual(['UNKNOWN']);
        const [described] = (
          await surface.ecs.send(
            new DescribeTasksCommand({ cluster: SURFACE_CLUSTER, tasks: [started.taskArn!] }),
          )
        ).tasks!;
        expect(described.healthStatus).toBe('UNKNOWN');
        expect(described.containers!.map((c) => c.healthStatus)).toEqual(['UNKNOWN']);
      });
    });

    defineTagScenarios(surface);
    definePropagateTagScenarios(surface);
    defineClusterSettingScenarios(surface);
    defineAccountSettingScenarios(surface);
  });
}
