/**
 * Hostile agents, on every runtime: a join-token holder must not become another host of its
 * cluster, an instance is resumed only with its own credential, a recorded end never changes, and
 * one connection's flood or one token's burst stays its own problem. Raw protocol connections
 * play both the victim and the attacker, so every frame is exactly what an attacker would send.
 */
import {
  CreateClusterCommand,
  DeregisterContainerInstanceCommand,
  DescribeContainerInstancesCommand,
  DescribeTasksCommand,
  type ECSClient,
  ListClustersCommand,
  RegisterTaskDefinitionCommand,
  StartTaskCommand,
  StopTaskCommand,
  UpdateContainerInstancesStateCommand,
} from '@aws-sdk/client-ecs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLOSE_CODES, FRAME_BUDGET, type ObservedTask } from '../../../protocol/agent-protocol';
import { connectRawAgent, helloFrame, type RawAgent } from '../../helpers/raw-agent';
import type { RunningRuntime, RuntimeHarness } from '../../helpers/runtimes';
import { waitFor } from '../../helpers/wait';

const CLUSTER = 'identity';
const OTHER_CLUSTER = 'identity-other';
const SECRET = 'hunter2-database-password';

interface JoinedHost {
  agent: RawAgent;
  instanceId: string;
  arn: string;
  credential: string;
}

export function defineAgentIdentityScenarios(harness: RuntimeHarness) {
  describe(`agent identity on the ${harness.name} runtime`, () => {
    let runtime: RunningRuntime;
    let ecs: ECSClient;
    let token: string;
    const open: RawAgent[] = [];

    async function join(
      cluster = CLUSTER,
      joinToken = token,
      hostname = 'host',
      claimedInstanceId?: string,
    ): Promise<JoinedHost> {
      const agent = await connectRawAgent(runtime.endpoint, cluster, joinToken);
      open.push(agent);
      agent.send(helloFrame({ hostname, instanceId: claimedInstanceId }));
      const welcome = await agent.waitForFrame('welcome');
      return {
        agent,
        instanceId: welcome.instanceId,
        arn: welcome.containerInstanceArn,
        credential: welcome.instanceCredential!,
      };
    }

    async function startOn(instanceArn: string, cluster = CLUSTER) {
      const out = await ecs.send(
        new StartTaskCommand({ cluster, taskDefinition: 'secretive', containerInstances: [instanceArn] }),
      );
      return out.tasks![0].taskArn!;
    }

    const describeTask = async (taskArn: string, cluster = CLUSTER) =>
      (await ecs.send(new DescribeTasksCommand({ cluster, tasks: [taskArn] }))).tasks![0];

    const stoppedReport = (taskArn: string, exitCode: number): ObservedTask => ({
      taskArn,
      generation: 1,
      lastStatus: 'STOPPED',
      containers: [{ name: 'main', lastStatus: 'STOPPED', exitCode }],
      stopCode: 'EssentialContainerExited',
      stoppedReason: `exited ${exitCode}`,
    });

    beforeAll(async () => {
      runtime = await harness.start();
      ecs = runtime.ecs;
      await ecs.send(new CreateClusterCommand({ clusterName: CLUSTER }));
      await ecs.send(new CreateClusterCommand({ clusterName: OTHER_CLUSTER }));
      token = await runtime.mintJoinToken(CLUSTER);
      await ecs.send(
        new RegisterTaskDefinitionCommand({
          family: 'secretive',
          containerDefinitions: [
            {
              name: 'main',
              image: 'busybox',
              memory: 16,
              environment: [{ name: 'DB_PASSWORD', value: SECRET }],
            },
          ],
        }),
      );
    });

    afterAll(async () => {
      for (const agent of open) agent.close();
      await runtime?.close();
    });

    it("gives a join-token holder that claims another host's instance id a new instance of its own, and nothing of the victim's", async () => {
      const victim = await join(CLUSTER, token, 'victim');
      const taskArn = await startOn(victim.arn);
      await victim.agent.waitForFrame('runTask', (f) => f.task.taskArn === taskArn);

      const attacker = await connectRawAgent(runtime.endpoint, CLUSTER, token);
      open.push(attacker);
      attacker.send(
        helloFrame({
          hostname: 'attacker',
          instanceId: victim.instanceId,
          resources: { cpu: 999_999, memoryMiB: 999_999 },
          attributes: [{ name: 'ecs.os-type', value: 'windows' }],
          tasks: [stoppedReport(taskArn, 137)],
        }),
      );
      const welcome = await attacker.waitForFrame('welcome');
      expect(welcome.instanceId).not.toBe(victim.instanceId);
      expect(welcome.instanceId).toMatch(/^[0-9a-f]{32}$/);
      expect(welcome.desiredTasks).toEqual([]);
      expect(JSON.stringify(attacker.received)).not.toContain(SECRET);

      // The victim's link was not taken over: its task keeps its status, and new work still reaches it.
      const task = await describeTask(taskArn);
      expect(task.lastStatus).not.toBe('STOPPED');
      expect(task.containers![0].exitCode).toBeUndefined();
      const second = await startOn(victim.arn);
      await victim.agent.waitForFrame('runTask', (f) => f.task.taskArn === second);
      expect(attacker.received.some((f) => f.type === 'runTask')).toBe(false);
      const [instance] = (
        await ecs.send(
          new DescribeContainerInstancesCommand({ cluster: CLUSTER, containerInstances: [victim.arn] }),
        )
      ).containerInstances!;
      expect(instance.agentConnected).toBe(true);
      expect(instance.registeredResources!.find((r) => r.name === 'CPU')!.integerValue).toBe(4096);
    });

    it('resumes an instance only with its own credential, and a join token never resumes one', async () => {
      const host = await join(CLUSTER, token, 'resumer');
      host.agent.close();
      const forged = host.credential.replace(/_[0-9a-f]{64}$/, `_${'0'.repeat(64)}`);
      await expect(connectRawAgent(runtime.endpoint, CLUSTER, forged)).rejects.toThrow(/401/);
      // Valid for its own cluster only.
      await expect(connectRawAgent(runtime.endpoint, OTHER_CLUSTER, host.credential)).rejects.toThrow(/401/);

      const back = await connectRawAgent(runtime.endpoint, CLUSTER, host.credential);
      open.push(back);
      back.send(helloFrame({ hostname: 'resumer', instanceId: 'f'.repeat(32) }));
      const welcome = await back.waitForFrame('welcome');
      expect(welcome.instanceId).toBe(host.instanceId);
      expect(welcome.instanceCredential).toBeUndefined();
    });

    it('refuses the credential of a deregistered instance with 410', async () => {
      const host = await join(CLUSTER, token, 'leaving');
      host.agent.close();
      await ecs.send(
        new DeregisterContainerInstanceCommand({
          cluster: CLUSTER,
          containerInstance: host.arn,
          force: true,
        }),
      );
      await expect(connectRawAgent(runtime.endpoint, CLUSTER, host.credential)).rejects.toThrow(/410/);
    });

    it('never changes a recorded final status or exit code, by report or by hello snapshot', async () => {
      const host = await join(CLUSTER, token, 'finisher');
      const taskArn = await startOn(host.arn);
      host.agent.send({ type: 'taskState', seq: 1, task: stoppedReport(taskArn, 0) });
      await waitFor(
        'the stop to be recorded',
        async () => (await describeTask(taskArn)).lastStatus === 'STOPPED',
      );
      host.agent.send({ type: 'taskState', seq: 2, task: stoppedReport(taskArn, 137) });
      host.agent.close();
      const back = await connectRawAgent(runtime.endpoint, CLUSTER, host.credential);
      open.push(back);
      back.send(helloFrame({ tasks: [{ ...stoppedReport(taskArn, 1), stoppedReason: 'rewritten' }] }));
      await back.waitForFrame('welcome');
      const task = await describeTask(taskArn);
      expect(task.containers![0].exitCode).toBe(0);
      expect(task.stoppedReason).toBe('exited 0');
    });

    it('keeps the ecs.* attributes an instance registered with, whatever a later hello says', async () => {
      const host = await join(CLUSTER, token, 'attributed');
      host.agent.close();
      const back = await connectRawAgent(runtime.endpoint, CLUSTER, host.credential);
      open.push(back);
      back.send(
        helloFrame({
          attributes: [
            { name: 'ecs.os-type', value: 'windows' },
            { name: 'rack', value: 'r7' },
          ],
        }),
      );
      await back.waitForFrame('welcome');
      const [instance] = (
        await ecs.send(
          new DescribeContainerInstancesCommand({ cluster: CLUSTER, containerInstances: [host.arn] }),
        )
      ).containerInstances!;
      const attributes = Object.fromEntries(instance.attributes!.map((a) => [a.name, a.value]));
      expect(attributes['ecs.os-type']).toBe('linux');
      expect(attributes.rack).toBe('r7');
    });

    it("never resolves another cluster's container-instance or task ARN", async () => {
      const host = await join(CLUSTER, token, 'elsewhere');
      const taskArn = await startOn(host.arn);
      const otherToken = await runtime.mintJoinToken(OTHER_CLUSTER);
      // A host of the other cluster claiming the same instance id (once, agents could choose theirs).
      await join(OTHER_CLUSTER, otherToken, 'other', host.instanceId);

      const described = await ecs.send(
        new DescribeContainerInstancesCommand({ cluster: OTHER_CLUSTER, containerInstances: [host.arn] }),
      );
      expect(described.containerInstances).toEqual([]);
      expect(described.failures).toEqual([expect.objectContaining({ reason: 'MISSING' })]);
      const drained = await ecs.send(
        new UpdateContainerInstancesStateCommand({
          cluster: OTHER_CLUSTER,
          containerInstances: [host.arn],
          status: 'DRAINING',
        }),
      );
      expect(drained.failures).toEqual([expect.objectContaining({ reason: 'MISSING' })]);
      const started = await ecs.send(
        new StartTaskCommand({
          cluster: OTHER_CLUSTER,
          taskDefinition: 'secretive',
          containerInstances: [host.arn],
        }),
      );
      expect(started.tasks).toEqual([]);
      expect(started.failures).toEqual([expect.objectContaining({ reason: 'MISSING' })]);
      await expect(
        ecs.send(new StopTaskCommand({ cluster: OTHER_CLUSTER, task: taskArn })),
      ).rejects.toMatchObject({ name: 'InvalidParameterException' });
      const tasks = await ecs.send(new DescribeTasksCommand({ cluster: OTHER_CLUSTER, tasks: [taskArn] }));
      expect(tasks.tasks).toEqual([]);
      expect((await describeTask(taskArn)).desiredStatus).toBe('RUNNING');
    });

    it('closes a connection that floods frames with tooManyFrames, and the API keeps answering', async () => {
      const host = await join(CLUSTER, token, 'flooder');
      const flood = JSON.stringify({ type: 'ping', sentAtMs: 1 });
      for (let i = 0; i < FRAME_BUDGET.burst * 2; i++) host.agent.send(flood);
      const closed = await host.agent.closed;
      expect(closed.code).toBe(CLOSE_CODES.tooManyFrames);
      const startedAtMs = Date.now();
      await ecs.send(new ListClustersCommand({}));
      expect(Date.now() - startedAtMs).toBeLessThan(1_000);
    });

    it('refuses a burst of registrations from one join token beyond its rate', async () => {
      const burstToken = await runtime.mintJoinToken(OTHER_CLUSTER);
      const closes: { code: number }[] = [];
      let welcomed = 0;
      // 130 is above REGISTRATIONS_PER_TOKEN_PER_MINUTE (120): the last ones must be refused.
      const attempts = Array.from({ length: 130 }, async () => {
        const agent = await connectRawAgent(runtime.endpoint, OTHER_CLUSTER, burstToken);
        open.push(agent);
        agent.send(helloFrame({ hostname: 'burst' }));
        const outcome = await Promise.race([
          agent.waitForFrame('welcome', () => true, 30_000).then(() => 'welcome' as const),
          agent.closed,
        ]);
        if (outcome === 'welcome') welcomed++;
        else closes.push(outcome);
      });
      await Promise.all(attempts);
      expect(welcomed).toBe(120);
      expect(closes).toHaveLength(10);
      for (const close of closes) expect(close.code).toBe(CLOSE_CODES.registrationRateLimited);
    }, 60_000);
  });
}
