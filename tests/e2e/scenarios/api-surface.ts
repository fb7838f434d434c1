/**
 * The API surface real ECS clients expect of the resources Berth has, on every runtime, through
 * the AWS SDK: unknown actions, tags on every taggable resource, propagated tags, cluster settings
 * and configuration, account settings, and the validation ECS does on Describe calls.
 */
import { type ECSClient, ListClustersCommand } from '@aws-sdk/client-ecs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningRuntime, RuntimeHarness } from '../../helpers/runtimes';

const TARGET_PREFIX = 'AmazonEC2ContainerServiceV20141113.';

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

    beforeAll(async () => {
      runtime = await harness.start();
      ecs = runtime.ecs;
    });
    afterAll(async () => {
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
  });
}
