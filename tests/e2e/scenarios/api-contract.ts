/**
 * The ECS API contract without Docker: resources, pagination and every bad-input case, through the
 * AWS SDK and raw HTTP, against every runtime. Bad input must get an ECS error naming the field.
 */
import {
  CreateClusterCommand,
  DeleteClusterCommand,
  DeleteTaskDefinitionsCommand,
  DeregisterTaskDefinitionCommand,
  DescribeClustersCommand,
  DescribeTaskDefinitionCommand,
  DescribeTasksCommand,
  ListClustersCommand,
  ListTaskDefinitionFamiliesCommand,
  ListTaskDefinitionsCommand,
  RegisterTaskDefinitionCommand,
  type RegisterTaskDefinitionCommandInput,
  RunTaskCommand,
  StopTaskCommand,
} from '@aws-sdk/client-ecs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signedFetch } from '../../helpers/credentials';
import type { RunningRuntime, RuntimeHarness } from '../../helpers/runtimes';

const container = (overrides: Record<string, unknown> = {}) => ({
  name: 'main',
  image: 'berth-test/busybox:latest',
  memory: 32,
  ...overrides,
});

async function errorOf(
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

export function defineApiContractScenarios(harness: RuntimeHarness) {
  describe(`ECS API contract on the ${harness.name} runtime`, () => {
    let runtime: RunningRuntime;

    beforeAll(async () => {
      runtime = await harness.start();
    });
    afterAll(async () => {
      await runtime?.close();
    });

    const registerBad = (input: Partial<RegisterTaskDefinitionCommandInput>) =>
      errorOf(
        runtime.ecs.send(
          new RegisterTaskDefinitionCommand({
            family: 'bad',
            containerDefinitions: [container()],
            ...input,
          } as RegisterTaskDefinitionCommandInput),
        ),
      );

    async function raw(target: string | undefined, body: string) {
      const headers: Record<string, string> = { 'Content-Type': 'application/x-amz-json-1.1' };
      if (target) headers['X-Amz-Target'] = target;
      const response = await signedFetch(
        runtime.endpoint,
        { method: 'POST', headers, body },
        runtime.credentials,
      );
      return {
        status: response.status,
        errorType: response.headers.get('x-amzn-errortype'),
        body: (await response.json()) as { __type: string; message: string },
      };
    }

    it('creates, describes, lists and deletes clusters idempotently', async () => {
      const created = await runtime.ecs.send(new CreateClusterCommand({ clusterName: 'contract-a' }));
      expect(created.cluster!.clusterArn).toBe('arn:aws:ecs:us-east-1:000000000000:cluster/contract-a');
      const again = await runtime.ecs.send(new CreateClusterCommand({ clusterName: 'contract-a' }));
      expect(again.cluster!.clusterArn).toBe(created.cluster!.clusterArn);
      const described = await runtime.ecs.send(
        new DescribeClustersCommand({ clusters: ['contract-a', 'no-such-cluster'] }),
      );
      expect(described.clusters!.map((c) => c.status)).toEqual(['ACTIVE']);
      expect(described.failures).toEqual([
        { arn: 'arn:aws:ecs:us-east-1:000000000000:cluster/no-such-cluster', reason: 'MISSING' },
      ]);
      const listed = await runtime.ecs.send(new ListClustersCommand({}));
      expect(listed.clusterArns).toContain(created.cluster!.clusterArn);
      const deleted = await runtime.ecs.send(new DeleteClusterCommand({ cluster: 'contract-a' }));
      expect(deleted.cluster!.status).toBe('INACTIVE');
      const after = await runtime.ecs.send(new ListClustersCommand({}));
      expect(after.clusterArns).not.toContain(created.cluster!.clusterArn);
    });

    it('pages through clusters with nextToken and maxResults', async () => {
      for (const n of [1, 2, 3])
        await runtime.ecs.send(new CreateClusterCommand({ clusterName: `page-${n}` }));
      const seen: string[] = [];
      let nextToken: string | undefined;
      do {
        const page = await runtime.ecs.send(new ListClustersCommand({ maxResults: 2, nextToken }));
        expect(page.clusterArns!.length).toBeLessThanOrEqual(2);
        seen.push(...page.clusterArns!);
        nextToken = page.nextToken;
      } while (nextToken);
      expect(seen.filter((a) => a.includes(':cluster/page-'))).toHaveLength(3);
      expect(new Set(seen).size).toBe(seen.length);
    });

    it('registers revisions of a family and finds them by family, family:revision and ARN', async () => {
      const first = await runtime.ecs.send(
        new RegisterTaskDefinitionCommand({ family: 'web_app', containerDefinitions: [container()] }),
      );
      const second = await runtime.ecs.send(
        new RegisterTaskDefinitionCommand({
          family: 'web_app',
          containerDefinitions: [container({ cpu: 128 })],
        }),
      );
      expect(first.taskDefinition!.revision).toBe(1);
      expect(second.taskDefinition!.revision).toBe(2);
      expect(second.taskDefinition!.taskDefinitionArn).toBe(
        'arn:aws:ecs:us-east-1:000000000000:task-definition/web_app:2',
      );
      const latest = await runtime.ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: 'web_app' }));
      expect(latest.taskDefinition!.revision).toBe(2);
      expect(latest.taskDefinition!.containerDefinitions![0].essential).toBe(true);
      const byRevision = await runtime.ecs.send(
        new DescribeTaskDefinitionCommand({ taskDefinition: 'web_app:1' }),
      );
      expect(byRevision.taskDefinition!.revision).toBe(1);
      const byArn = await runtime.ecs.send(
        new DescribeTaskDefinitionCommand({ taskDefinition: second.taskDefinition!.taskDefinitionArn! }),
      );
      expect(byArn.taskDefinition!.containerDefinitions![0].cpu).toBe(128);

      const families = await runtime.ecs.send(
        new ListTaskDefinitionFamiliesCommand({ familyPrefix: 'web_' }),
      );
      expect(families.families).toEqual(['web_app']);
      const arns = await runtime.ecs.send(
        new ListTaskDefinitionsCommand({ familyPrefix: 'web_app', sort: 'DESC' }),
      );
      expect(arns.taskDefinitionArns!.map((a) => a.split(':').pop())).toEqual(['2', '1']);

      await runtime.ecs.send(new DeregisterTaskDefinitionCommand({ taskDefinition: 'web_app:1' }));
      const inactive = await runtime.ecs.send(new ListTaskDefinitionsCommand({ status: 'INACTIVE' }));
      expect(inactive.taskDefinitionArns).toEqual([first.taskDefinition!.taskDefinitionArn]);
      const deleted = await runtime.ecs.send(
        new DeleteTaskDefinitionsCommand({ taskDefinitions: ['web_app:1', 'web_app:2'] }),
      );
      expect(deleted.taskDefinitions!.map((t) => t.status)).toEqual(['DELETE_IN_PROGRESS']);
      expect(deleted.failures![0].reason).toMatch(/ACTIVE status/);
    });

    it('rejects each bad task definition with an ECS error that names the field', async () => {
      const cases: [Partial<RegisterTaskDefinitionCommandInput>, string, RegExp][] = [
        [{ family: 'has space' }, 'ClientException', /family/],
        [{ containerDefinitions: [] }, 'ClientException', /containerDefinitions/],
        [
          { containerDefinitions: Array.from({ length: 11 }, (_, i) => container({ name: `c${i}` })) },
          'ClientException',
          /containerDefinitions/,
        ],
        [{ containerDefinitions: [container(), container()] }, 'ClientException', /main/],
        [{ containerDefinitions: [container({ essential: false })] }, 'ClientException', /essential/],
        [{ containerDefinitions: [container({ memory: 2 })] }, 'ClientException', /memory/],
        [{ containerDefinitions: [container({ memory: undefined })] }, 'ClientException', /memory/],
        [
          { containerDefinitions: [container({ portMappings: [{ containerPort: 70000 }] })] },
          'ClientException',
          /containerPort/,
        ],
        [{ containerDefinitions: [container({ name: 'bad name!' })] }, 'ClientException', /name/],
        [{ containerDefinitions: [container({ image: undefined })] }, 'ClientException', /image/],
        [
          {
            containerDefinitions: [
              container({ dependsOn: [{ containerName: 'ghost', condition: 'START' }] }),
            ],
          },
          'ClientException',
          /ghost/,
        ],
      ];
      for (const [input, _name, field] of cases) {
        const error = await registerBad(input);
        expect(['ClientException', 'InvalidParameterException']).toContain(error.name);
        expect(error.status).toBe(400);
        expect(error.message).toMatch(field);
      }
    });

    it('answers malformed requests with clear client errors, never a 500', async () => {
      const badJson = await raw('AmazonEC2ContainerServiceV20141113.ListClusters', '{not json');
      expect(badJson.status).toBe(400);
      expect(badJson.body.__type).toBe('ClientException');
      expect(badJson.errorType).toBe('ClientException');

      const unknown = await raw('AmazonEC2ContainerServiceV20141113.LaunchRocket', '{}');
      expect(unknown.status).toBe(400);
      expect(unknown.body.message).toMatch(/LaunchRocket/);

      const noTarget = await raw(undefined, '{}');
      expect(noTarget.status).toBe(400);
      expect(noTarget.body.message).toMatch(/X-Amz-Target/);

      const wrongType = await raw('AmazonEC2ContainerServiceV20141113.RunTask', '{"taskDefinition": 5}');
      expect(wrongType.status).toBe(400);
      expect(wrongType.body.__type).toBe('InvalidParameterException');
      expect(wrongType.body.message).toMatch(/taskDefinition/);

      const missing = await raw('AmazonEC2ContainerServiceV20141113.RunTask', '{"cluster": "default"}');
      expect(missing.status).toBe(400);
      expect(missing.body.message).toMatch(/taskDefinition/);

      const badEnum = await raw(
        'AmazonEC2ContainerServiceV20141113.RegisterTaskDefinition',
        '{"family":"x","networkMode":"brige","containerDefinitions":[{"name":"a","image":"b","memory":8}]}',
      );
      expect(badEnum.body.__type).toBe('InvalidParameterException');
      expect(badEnum.body.message).toMatch(/networkMode/);
    });

    it('reports missing clusters and tasks the way ECS does', async () => {
      const noCluster = await errorOf(
        runtime.ecs.send(new DescribeTasksCommand({ cluster: 'nowhere', tasks: ['abc'] })),
      );
      expect(noCluster.name).toBe('ClusterNotFoundException');
      await runtime.ecs.send(new CreateClusterCommand({ clusterName: 'empty' }));
      await runtime.ecs.send(
        new RegisterTaskDefinitionCommand({ family: 'lonely', containerDefinitions: [container()] }),
      );
      const noInstances = await errorOf(
        runtime.ecs.send(new RunTaskCommand({ cluster: 'empty', taskDefinition: 'lonely' })),
      );
      expect(noInstances.name).toBe('InvalidParameterException');
      expect(noInstances.message).toMatch(/No Container Instances/);
      const badCount = await errorOf(
        runtime.ecs.send(new RunTaskCommand({ cluster: 'empty', taskDefinition: 'lonely', count: 11 })),
      );
      expect(badCount.name).toBe('InvalidParameterException');
      expect(badCount.message).toMatch(/count/);
      const noTaskDefinition = await errorOf(
        runtime.ecs.send(new RunTaskCommand({ cluster: 'empty', taskDefinition: 'never-registered' })),
      );
      expect(noTaskDefinition.name).toBe('ClientException');
      const noTask = await errorOf(
        runtime.ecs.send(new StopTaskCommand({ cluster: 'empty', task: 'f'.repeat(32) })),
      );
      expect(noTask.name).toBe('InvalidParameterException');
      const described = await runtime.ecs.send(
        new DescribeTasksCommand({ cluster: 'empty', tasks: ['0'.repeat(32)] }),
      );
      expect(described.failures![0].reason).toBe('MISSING');
    });
  });
}
