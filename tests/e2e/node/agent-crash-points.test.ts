/**
 * The agent dies at the worst moments of a task's start, and hears the same command more than once.
 * Real agent processes on the shared Docker engine; the crashes come from the agent's own fault hook
 * (BERTH_AGENT_FAULT, agent/fault-injection.ts): a SIGKILL at an exact point of the start sequence.
 * The invariants checked where they apply: 1. an acknowledged write survives;  2. at most one
 * container per task container;  3. restarts never stop a running container;  4. every task reaches
 * a final status with its exit code and reason;  5. a recorded status never moves backwards.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateClusterCommand,
  DescribeContainerInstancesCommand,
  ListContainerInstancesCommand,
  RegisterTaskDefinitionCommand,
  RunTaskCommand,
} from '@aws-sdk/client-ecs';
import { afterEach, describe, expect, it } from 'vitest';
import type { CrashPoint } from '../../../agent/fault-injection';
import type { AgentState } from '../../../agent/state/state-file';
import type { AgentFrame, TaskStatus } from '../../../protocol/agent-protocol';
import { mintJoinToken } from '../../../worker/core/join-tokens/join-tokens';
import { spawnAgent } from '../../helpers/agent-process';
import { startTestControlPlane } from '../../helpers/control-plane';
import { containersOfTask, removeTaskContainers, TEST_IMAGE } from '../../helpers/docker';
import { describeAll, expectNeverBackwards, statusWatcher } from '../../helpers/ecs-queries';
import {
  buildContainer,
  buildTask,
  ensureTestImage,
  FakeControlPlane,
  removeTestContainers,
} from '../../helpers/fake-control-plane';
import { waitFor } from '../../helpers/wait';

const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
});

describe('agent crash points', () => {
  it.each([
    { point: 'exit-before-create' as CrashPoint, containersAtDeath: 0 },
    { point: 'exit-after-create' as CrashPoint, containersAtDeath: 1 },
  ])(
    'creates exactly one container and runs the task when the agent is killed at $point',
    async ({ point, containersAtDeath }) => {
      const cluster = `crash-${point}`;
      const { plane, ecs, close } = await startTestControlPlane();
      cleanups.push(close);
      await ecs.send(new CreateClusterCommand({ clusterName: cluster }));
      const token = await mintJoinToken(plane.deps, cluster);
      const stateDir = mkdtempSync(join(tmpdir(), 'berth-crash-points-'));
      cleanups.push(async () => rmSync(stateDir, { recursive: true, force: true }));
      const doomed = spawnAgent({
        endpoint: plane.url,
        cluster,
        joinToken: token,
        stateDir,
        env: { BERTH_AGENT_FAULT: point },
      });
      cleanups.push(() => doomed.kill('SIGKILL'));
      await waitFor('the agent to register', async () => {
        const list = await ecs.send(new ListContainerInstancesCommand({ cluster }));
        if (!list.containerInstanceArns?.length) return false;
        const out = await ecs.send(
          new DescribeContainerInstancesCommand({ cluster, containerInstances: list.containerInstanceArns }),
        );
        return out.containerInstances![0].agentConnected;
      });
      await ecs.send(
        new RegisterTaskDefinitionCommand({
          family: 'crash',
          containerDefinitions: [
            { name: 'main', image: TEST_IMAGE, memory: 16, command: ['sleep', '3600'], stopTimeout: 1 },
          ],
        }),
      );
      const taskArn = (await ecs.send(new RunTaskCommand({ cluster, taskDefinition: 'crash' }))).tasks![0]
        .taskArn!;
      cleanups.push(() => removeTaskContainers([taskArn]));
      const expectStatusNeverBackwards = statusWatcher(ecs, cluster, () => [taskArn]);

      await waitFor(
        `the agent to kill itself at ${point}`,
        () => doomed.child.exitCode !== null || doomed.child.signalCode !== null,
      );
      expect(doomed.child.signalCode, doomed.output()).toBe('SIGKILL');
      // It died where it was meant to: the start recorded, the container not yet (or just) created.
      const state = JSON.parse(readFileSync(join(stateDir, 'state.json'), 'utf8')) as AgentState;
      const recorded = state.tasks.find((t) => t.taskArn === taskArn);
      expect(recorded?.desiredStatus).toBe('RUNNING');
      expect(recorded?.spec?.containers.map((c) => c.name)).toEqual(['main']);
      const atDeath = await containersOfTask(taskArn);
      expect(atDeath).toHaveLength(containersAtDeath);
      expect(atDeath.every((c) => c.State === 'created')).toBe(true);

      const revived = spawnAgent({ endpoint: plane.url, cluster, joinToken: token, stateDir });
      cleanups.push(() => revived.kill('SIGKILL'));
      const running = await waitFor('the task to run after the restart', async () => {
        const [task] = await describeAll(ecs, cluster, [taskArn]);
        return task.lastStatus === 'RUNNING' ? task : undefined;
      });
      const containers = await containersOfTask(taskArn);
      expect(containers).toHaveLength(1);
      expect(containers[0].State).toBe('running');
      expect(running.containers![0].runtimeId).toBe(containers[0].Id);
      if (containersAtDeath) expect(containers[0].Id).toBe(atDeath[0].Id);
      await expectStatusNeverBackwards();
    },
    60_000,
  );
});

describe('the same run command delivered more than once to the real agent', () => {
  it('creates one container for a runTask sent twice, again under a new messageId, again in each welcome, and again after a stop', async () => {
    await ensureTestImage();
    const cluster = `duplicates-${randomBytes(4).toString('hex')}`;
    const testRun = randomBytes(6).toString('hex');
    const joinToken = 'duplicates-token';
    const plane = await FakeControlPlane.start({ cluster, joinToken });
    cleanups.push(() => plane.close());
    cleanups.push(() => removeTestContainers(testRun));
    const agent = spawnAgent({ endpoint: plane.url, cluster, joinToken });
    cleanups.push(async () => {
      await agent.kill('SIGKILL');
      rmSync(agent.stateDir, { recursive: true, force: true });
    });
    await plane.waitForHello();
    const task = buildTask(cluster, testRun, [buildContainer({ name: 'main', command: ['sleep', '3600'] })]);
    const expectAcknowledged = (messageId: string) =>
      waitFor(`runTask ${messageId} to be acknowledged`, () => plane.acksOf(messageId) === 1);
    // What the agent said about the task, in order: a hello snapshot says it as much as a report does
    // (a change made while the link was down is only in the next hello).
    const statesOf = (frame: AgentFrame) =>
      frame.type === 'hello'
        ? frame.tasks.filter((t) => t.taskArn === task.taskArn)
        : frame.type === 'taskState' && frame.task.taskArn === task.taskArn
          ? [frame.task]
          : [];
    const observed = async (status: TaskStatus) => {
      const frame = await plane.waitForFrame(`the agent to say the task is ${status}`, (f) =>
        statesOf(f).some((t) => t.lastStatus === status),
      );
      return statesOf(frame)[0];
    };

    // A retransmission (same messageId) and a replay (new messageId, same generation), back to back:
    // each is acknowledged, as it is recorded, and only the first acts.
    const first = plane.runTask(task);
    plane.runTask(task, first);
    const replay = plane.runTask(task);
    await waitFor(
      'every copy to be acknowledged',
      () => plane.acksOf(first) === 2 && plane.acksOf(replay) === 1,
    );
    // A reconnect while the start is (most likely) still under way: the welcome lists the task once more.
    plane.disconnect();
    await plane.waitForHello(1);
    const runtimeId = (await observed('RUNNING')).containers[0].runtimeId;
    expect(await containersOfTask(task.taskArn)).toHaveLength(1);

    // Once it runs: another welcome, and another copy of the command, both acknowledged and ignored.
    plane.disconnect();
    await plane.waitForHello(2);
    await expectAcknowledged(plane.runTask(task));

    // After a stop, the original command arrives late, then a welcome that still wants it running:
    // the generation fence keeps the task stopped.
    plane.stopTask(task.taskArn, task.generation + 1);
    await observed('STOPPED');
    await expectAcknowledged(plane.runTask(task));
    plane.disconnect();
    const hello = await plane.waitForHello(3);
    expect(hello.tasks.find((t) => t.taskArn === task.taskArn)?.lastStatus).toBe('STOPPED');
    // This ack follows the reconciling of the welcome before it: a start that welcome caused would show now.
    await expectAcknowledged(plane.runTask(task));

    const containers = await containersOfTask(task.taskArn);
    expect(containers.map((c) => c.Id)).toEqual([runtimeId]);
    expect(containers[0].State).toBe('exited');
    const said = plane.frames.flatMap((r) => statesOf(r.frame));
    expectNeverBackwards(
      said.map((t) => t.lastStatus),
      'what the agent said',
    );
    const reportedIds = said.flatMap((t) => t.containers.map((c) => c.runtimeId)).filter(Boolean);
    expect(new Set(reportedIds)).toEqual(new Set([runtimeId]));
    const seqs = plane.reportsOf(task.taskArn).map((r) => r.seq);
    expect(seqs).toEqual([...new Set(seqs)].sort((a, b) => a - b));
    expect(agent.child.exitCode, agent.output()).toBeNull();
  }, 60_000);
});
