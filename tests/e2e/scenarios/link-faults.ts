/**
 * Link faults, on every runtime: hosts sit behind NAT on flaky links. A link that goes silent (no
 * FIN, no RST: a TCP proxy the test controls holds every byte) for longer than the heartbeat
 * deadline, with a StopTask issued meanwhile, must end with the stop applied once and nothing else
 * changed.
 */
import {
  CreateClusterCommand,
  RegisterTaskDefinitionCommand,
  RunTaskCommand,
  StopTaskCommand,
} from '@aws-sdk/client-ecs';
import { afterAll, describe, expect, it } from 'vitest';
import { spawnAgent } from '../../helpers/agent-process';
import { containersOfTask, removeTaskContainers, TEST_IMAGE } from '../../helpers/docker';
import { describeAll, instanceVersion } from '../../helpers/ecs-queries';
import type { RuntimeHarness } from '../../helpers/runtimes';
import { startTcpProxy } from '../../helpers/tcp-proxy';
import { waitFor } from '../../helpers/wait';

const heartbeatIntervalMs = 500;

export function defineLinkFaultScenarios(harness: RuntimeHarness) {
  describe(`link faults on the ${harness.name} runtime`, () => {
    const cleanups: (() => Promise<void>)[] = [];
    afterAll(async () => {
      for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
    });

    it('applies a StopTask issued while the link is cut exactly once when it comes back, and changes nothing else', async () => {
      const cluster = 'link-cut';
      const runtime = await harness.start({ heartbeatIntervalMs });
      cleanups.push(runtime.close);
      const { ecs } = runtime;
      await ecs.send(new CreateClusterCommand({ clusterName: cluster }));
      const proxy = await startTcpProxy(Number(new URL(runtime.endpoint).port));
      cleanups.push(proxy.close);
      const agent = spawnAgent({
        endpoint: `http://127.0.0.1:${proxy.port}`,
        cluster,
        joinToken: await runtime.mintJoinToken(cluster),
      });
      cleanups.push(() => agent.kill('SIGKILL'));
      await waitFor('the agent to register', async () => (await instanceVersion(ecs, cluster)) > 0);
      await ecs.send(
        new RegisterTaskDefinitionCommand({
          family: 'cut',
          containerDefinitions: [
            {
              name: 'main',
              image: TEST_IMAGE,
              memory: 16,
              command: ['sh', '-c', 'trap "exit 0" TERM; while true; do sleep 1; done'],
            },
          ],
        }),
      );
      const out = await ecs.send(new RunTaskCommand({ cluster, taskDefinition: 'cut', count: 2 }));
      const [stopped, kept] = out.tasks!.map((t) => t.taskArn!);
      cleanups.push(() => removeTaskContainers([stopped, kept]));
      const before = await waitFor('both tasks to run', async () => {
        const tasks = await describeAll(ecs, cluster, [stopped, kept]);
        return tasks.every((t) => t.lastStatus === 'RUNNING') ? tasks : undefined;
      });
      const versionBefore = await instanceVersion(ecs, cluster);

      proxy.cut();
      // Longer than the agent's heartbeat deadline (3 intervals): both sides give up on the socket.
      await new Promise((r) => setTimeout(r, heartbeatIntervalMs * 6));
      await ecs.send(new StopTaskCommand({ cluster, task: stopped, reason: 'stopped during the cut' }));
      await new Promise((r) => setTimeout(r, 500));
      expect((await containersOfTask(stopped))[0].State).toBe('running');
      proxy.restore();

      await waitFor(
        'the agent to reconnect',
        async () => (await instanceVersion(ecs, cluster)) > versionBefore,
        30_000,
      );
      const [final] = await waitFor(
        'the stop to be applied',
        async () => {
          const tasks = await describeAll(ecs, cluster, [stopped]);
          return tasks[0].lastStatus === 'STOPPED' ? tasks : undefined;
        },
        30_000,
      );
      expect(final.stopCode).toBe('UserInitiated');
      expect(final.stoppedReason).toBe('stopped during the cut');
      expect(final.containers![0].exitCode).toBe(0);
      expect(await containersOfTask(stopped)).toHaveLength(1);
      const [untouched] = await describeAll(ecs, cluster, [kept]);
      expect(untouched.lastStatus).toBe('RUNNING');
      expect(untouched.containers![0].runtimeId).toBe(before[1].containers![0].runtimeId);
      const keptContainers = await containersOfTask(kept);
      expect(keptContainers).toHaveLength(1);
      expect(keptContainers[0].State).toBe('running');
    }, 120_000);
  });
}
