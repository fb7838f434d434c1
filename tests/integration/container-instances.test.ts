/**
 * Container instances through the control plane, with hand-driven agents: disconnect grace,
 * draining, deregistration, attributes and reserved host ports.
 */
import {
  CreateClusterCommand,
  DeleteAttributesCommand,
  DeregisterContainerInstanceCommand,
  DescribeContainerInstancesCommand,
  DescribeTasksCommand,
  ListAttributesCommand,
  PutAttributesCommand,
  RegisterTaskDefinitionCommand,
  type Resource,
  RunTaskCommand,
  StartTaskCommand,
  StopTaskCommand,
} from '@aws-sdk/client-ecs';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { containerInstances } from '../../db/schema';
import { CLOSE_CODES } from '../../protocol/agent-protocol';
import { mintJoinToken } from '../../worker/core/join-tokens/join-tokens';
import { startTestControlPlane, type TestControlPlane } from '../helpers/control-plane';
import { connectRawAgent, helloFrame, type RawAgent } from '../helpers/raw-agent';
import { waitFor } from '../helpers/wait';

const CLUSTER = 'instances';
const GRACE_MS = 400;

describe('container instances', () => {
  let test: TestControlPlane;
  let token: string;

  beforeAll(async () => {
    test = await startTestControlPlane({ config: { agentDisconnectGraceMs: GRACE_MS } });
    await test.ecs.send(new CreateClusterCommand({ clusterName: CLUSTER }));
    token = await mintJoinToken(test.plane.deps, CLUSTER);
    await test.ecs.send(
      new RegisterTaskDefinitionCommand({
        family: 'tiny',
        containerDefinitions: [{ name: 'main', image: 'busybox', memory: 16 }],
      }),
    );
  });
  afterAll(async () => {
    await test?.close();
  });

  async function joinHost(
    hostname: string,
  ): Promise<{ agent: RawAgent; instanceId: string; arn: string; credential: string }> {
    const agent = await connectRawAgent(test.plane.url, CLUSTER, token);
    agent.send(helloFrame({ hostname }));
    const welcome = await agent.waitForFrame('welcome');
    return {
      agent,
      instanceId: welcome.instanceId,
      arn: welcome.containerInstanceArn,
      credential: welcome.instanceCredential!,
    };
  }

  const describeInstance = async (arn: string) =>
    (
      await test.ecs.send(
        new DescribeContainerInstancesCommand({ cluster: CLUSTER, containerInstances: [arn] }),
      )
    ).containerInstances![0];

  it('keeps a silent agent connected for the grace period, then places around it without stopping its tasks', async () => {
    const { agent, arn, credential } = await joinHost('flaky');
    const started = await test.ecs.send(
      new StartTaskCommand({ cluster: CLUSTER, taskDefinition: 'tiny', containerInstances: [arn] }),
    );
    const taskArn = started.tasks![0].taskArn!;
    agent.send({
      type: 'taskState',
      seq: 1,
      task: {
        taskArn,
        generation: 1,
        lastStatus: 'RUNNING',
        containers: [{ name: 'main', lastStatus: 'RUNNING' }],
      },
    });
    await waitFor('RUNNING', async () => {
      const out = await test.ecs.send(new DescribeTasksCommand({ cluster: CLUSTER, tasks: [taskArn] }));
      return out.tasks![0].lastStatus === 'RUNNING';
    });
    agent.close();
    await agent.closed;
    expect((await describeInstance(arn)).agentConnected).toBe(true);
    await waitFor(
      'agentConnected to go false after the grace period',
      async () => !(await describeInstance(arn)).agentConnected,
    );
    const out = await test.ecs.send(new DescribeTasksCommand({ cluster: CLUSTER, tasks: [taskArn] }));
    expect(out.tasks![0].lastStatus).toBe('RUNNING');
    expect(out.tasks![0].desiredStatus).toBe('RUNNING');
    const run = await test.ecs.send(
      new RunTaskCommand({
        cluster: CLUSTER,
        taskDefinition: 'tiny',
        placementConstraints: [{ type: 'memberOf', expression: `ec2InstanceId == ${arn.split('/').pop()}` }],
      }),
    );
    expect(run.tasks).toEqual([]);
    expect(run.failures).toEqual([expect.objectContaining({ arn, reason: 'AGENT' })]);
    // A stop issued while the agent is away is delivered in its next welcome.
    await test.ecs.send(new StopTaskCommand({ cluster: CLUSTER, task: taskArn }));
    const back = await connectRawAgent(test.plane.url, CLUSTER, credential);
    back.send(helloFrame({ hostname: 'flaky', instanceId: arn.split('/').pop() }));
    const welcome = await back.waitForFrame('welcome');
    const desired = welcome.desiredTasks.find((t) => t.taskArn === taskArn);
    expect(desired?.desiredStatus).toBe('STOPPED');
    expect(desired?.generation).toBe(2);
    expect((await describeInstance(arn)).agentConnected).toBe(true);
    back.close();
  });

  it('refuses to deregister an instance with tasks unless forced, and then stops its tasks and closes its link', async () => {
    const { agent, arn } = await joinHost('doomed');
    const started = await test.ecs.send(
      new StartTaskCommand({ cluster: CLUSTER, taskDefinition: 'tiny', containerInstances: [arn] }),
    );
    const taskArn = started.tasks![0].taskArn!;
    await expect(
      test.ecs.send(new DeregisterContainerInstanceCommand({ cluster: CLUSTER, containerInstance: arn })),
    ).rejects.toMatchObject({ name: 'InvalidParameterException', message: expect.stringMatching(/force/) });
    const out = await test.ecs.send(
      new DeregisterContainerInstanceCommand({ cluster: CLUSTER, containerInstance: arn, force: true }),
    );
    expect(out.containerInstance!.status).toBe('INACTIVE');
    expect((await agent.closed).code).toBe(CLOSE_CODES.deregistered);
    const task = (await test.ecs.send(new DescribeTasksCommand({ cluster: CLUSTER, tasks: [taskArn] })))
      .tasks![0];
    expect(task.lastStatus).toBe('STOPPED');
    expect(task.stoppedReason).toMatch(/deregistered/);
  });

  it('puts, lists and deletes custom attributes, and rejects bad names and unknown targets', async () => {
    const { agent, arn, credential } = await joinHost('labelled');
    await test.ecs.send(
      new PutAttributesCommand({
        cluster: CLUSTER,
        attributes: [
          { name: 'stack', value: 'prod', targetId: arn },
          { name: 'gpu', targetId: arn },
        ],
      }),
    );
    const listed = await test.ecs.send(
      new ListAttributesCommand({
        cluster: CLUSTER,
        targetType: 'container-instance',
        attributeName: 'stack',
      }),
    );
    expect(listed.attributes).toEqual([
      { name: 'stack', value: 'prod', targetType: 'container-instance', targetId: arn },
    ]);
    const builtIn = await test.ecs.send(
      new ListAttributesCommand({
        cluster: CLUSTER,
        targetType: 'container-instance',
        attributeName: 'ecs.os-type',
      }),
    );
    expect(builtIn.attributes!.map((a) => a.targetId)).toContain(arn);
    await test.ecs.send(
      new DeleteAttributesCommand({ cluster: CLUSTER, attributes: [{ name: 'stack', targetId: arn }] }),
    );
    const after = await describeInstance(arn);
    expect(after.attributes!.map((a) => a.name)).not.toContain('stack');
    expect(after.attributes!.map((a) => a.name)).toContain('gpu');
    await expect(
      test.ecs.send(
        new PutAttributesCommand({ cluster: CLUSTER, attributes: [{ name: 'bad name!', targetId: arn }] }),
      ),
    ).rejects.toMatchObject({
      name: 'InvalidParameterException',
      message: expect.stringMatching(/attributes\[0\]\.name/),
    });
    await expect(
      test.ecs.send(
        new PutAttributesCommand({
          cluster: CLUSTER,
          attributes: [{ name: 'ok', targetId: 'f'.repeat(32) }],
        }),
      ),
    ).rejects.toMatchObject({ name: 'TargetNotFoundException' });
    // The hello of a reconnect replaces the agent's attributes but keeps the custom ones.
    agent.close();
    const back = await connectRawAgent(test.plane.url, CLUSTER, credential);
    back.send(helloFrame({ hostname: 'labelled', instanceId: arn.split('/').pop() }));
    await back.waitForFrame('welcome');
    expect((await describeInstance(arn)).attributes!.map((a) => a.name)).toContain('gpu');
    back.close();
  });

  /** The STRINGSET resources (PORTS, PORTS_UDP) by name. */
  const portsOf = (resources: Resource[] = []) =>
    Object.fromEntries(
      resources.filter((r) => r.type === 'STRINGSET').map((r) => [r.name, r.stringSetValue]),
    );

  it('lists the reserved host ports as ECS does, adds the ports tasks hold, and places no task on a reserved port', async () => {
    const { agent, arn } = await joinHost('reserved');
    const ecsReserved = ['22', '2375', '2376', '51678', '51679'];
    const fresh = await describeInstance(arn);
    expect(portsOf(fresh.registeredResources)).toEqual({ PORTS: ecsReserved, PORTS_UDP: ecsReserved });
    expect(portsOf(fresh.remainingResources)).toEqual({ PORTS: ecsReserved, PORTS_UDP: ecsReserved });

    await test.ecs.send(
      new RegisterTaskDefinitionCommand({
        family: 'static-ports',
        containerDefinitions: [
          {
            name: 'main',
            image: 'busybox',
            memory: 16,
            portMappings: [
              { containerPort: 80, hostPort: 8080 },
              { containerPort: 53, hostPort: 5353, protocol: 'udp' },
            ],
          },
        ],
      }),
    );
    const started = await test.ecs.send(
      new StartTaskCommand({ cluster: CLUSTER, taskDefinition: 'static-ports', containerInstances: [arn] }),
    );
    expect(started.tasks).toHaveLength(1);
    const holding = await describeInstance(arn);
    expect(portsOf(holding.remainingResources)).toEqual({
      PORTS: ['22', '2375', '2376', '8080', '51678', '51679'],
      PORTS_UDP: ['22', '2375', '2376', '5353', '51678', '51679'],
    });
    expect(portsOf(holding.registeredResources)).toEqual(portsOf(fresh.registeredResources));

    await test.ecs.send(
      new RegisterTaskDefinitionCommand({
        family: 'docker-port',
        containerDefinitions: [
          {
            name: 'main',
            image: 'busybox',
            memory: 16,
            portMappings: [{ containerPort: 80, hostPort: 2375 }],
          },
        ],
      }),
    );
    const refused = await test.ecs.send(
      new StartTaskCommand({ cluster: CLUSTER, taskDefinition: 'docker-port', containerInstances: [arn] }),
    );
    expect(refused.tasks).toEqual([]);
    expect(refused.failures).toEqual([expect.objectContaining({ arn, reason: 'RESOURCE:PORTS' })]);

    // Registration stores the agent's own list in the row; Describe shows whatever the row holds.
    await test.plane.deps.db
      .update(containerInstances)
      .set({ reservedPortsJson: '[8787,22]' })
      .where(eq(containerInstances.arn, arn));
    expect(portsOf((await describeInstance(arn)).registeredResources)).toEqual({
      PORTS: ['22', '8787'],
      PORTS_UDP: ['22', '8787'],
    });
    agent.close();
  });
});
