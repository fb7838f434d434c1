/**
 * Nothing lost when things fail: real agent processes, real Docker, and faults injected for real
 * (kill -9 of the agent and of the control plane). The link faults run on both runtimes, in
 * tests/e2e/scenarios/link-faults.ts. Every test checks the invariants that apply:
 *  1. an acknowledged write survives a crash;  2. at most one container per task container;
 *  3. restarts never stop a running container;  4. every task reaches a final status with its exit
 *  code;  5. a recorded status never moves backwards.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateClusterCommand,
  DescribeContainerInstancesCommand,
  ListContainerInstancesCommand,
  ListTasksCommand,
  RegisterTaskDefinitionCommand,
  RunTaskCommand,
} from '@aws-sdk/client-ecs';
import { afterAll, describe, expect, it } from 'vitest';
import { mintJoinToken } from '../../../worker/core/join-tokens/join-tokens';
import { type AgentProcess, spawnAgent } from '../../helpers/agent-process';
import { ecsClientFor, startTestControlPlane, type TestControlPlane } from '../../helpers/control-plane';
import { createTestKeyInDataDir } from '../../helpers/credentials';
import { containersOfTask, removeTaskContainers, TEST_IMAGE } from '../../helpers/docker';
import { describeAll, instanceVersion, statusWatcher } from '../../helpers/ecs-queries';
import { freePort, spawnServer } from '../../helpers/server-process';
import { waitFor } from '../../helpers/wait';

const cleanups: (() => Promise<void>)[] = [];

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
});

async function startPlaneWithCluster(cluster: string, config = {}): Promise<TestControlPlane> {
  const test = await startTestControlPlane({ config });
  cleanups.push(test.close);
  await test.ecs.send(new CreateClusterCommand({ clusterName: cluster }));
  return test;
}

describe('faults', () => {
  it('keeps the same containers through ten kill -9s of the agent, and records exits that happened meanwhile', async () => {
    const cluster = 'agent-kills';
    const { plane, ecs } = await startPlaneWithCluster(cluster);
    const token = await mintJoinToken(plane.deps, cluster);
    const stateDir = mkdtempSync(join(tmpdir(), 'berth-agent-kills-'));
    let agent: AgentProcess = spawnAgent({ endpoint: plane.url, cluster, joinToken: token, stateDir });
    cleanups.push(() => agent.kill('SIGKILL'));
    await waitFor('the agent to register', async () => (await instanceVersion(ecs, cluster)) > 0);

    await ecs.send(
      new RegisterTaskDefinitionCommand({
        family: 'long',
        containerDefinitions: [
          { name: 'main', image: TEST_IMAGE, memory: 16, command: ['sleep', '3600'], stopTimeout: 1 },
        ],
      }),
    );
    const longRun = await ecs.send(new RunTaskCommand({ cluster, taskDefinition: 'long', count: 3 }));
    const longArns = longRun.tasks!.map((t) => t.taskArn!);
    // Tasks that exit with their own code at staggered times, many while the agent is dead.
    const exiting: { arn: string; code: number }[] = [];
    for (const [i, seconds] of [1, 2, 3, 4, 6, 8].entries()) {
      await ecs.send(
        new RegisterTaskDefinitionCommand({
          family: `exit-${i}`,
          containerDefinitions: [
            {
              name: 'main',
              image: TEST_IMAGE,
              memory: 16,
              command: ['sh', '-c', `sleep ${seconds}; exit ${10 + i}`],
            },
          ],
        }),
      );
      const out = await ecs.send(new RunTaskCommand({ cluster, taskDefinition: `exit-${i}` }));
      exiting.push({ arn: out.tasks![0].taskArn!, code: 10 + i });
    }
    cleanups.push(() => removeTaskContainers([...longArns, ...exiting.map((e) => e.arn)]));
    const stopWatching = statusWatcher(ecs, cluster, () => [...longArns, ...exiting.map((e) => e.arn)]);

    const running = await waitFor('the long tasks to run', async () => {
      const tasks = await describeAll(ecs, cluster, longArns);
      return tasks.every((t) => t.lastStatus === 'RUNNING') ? tasks : undefined;
    });
    const runtimeIds = running.map((t) => t.containers![0].runtimeId);

    for (let kill = 0; kill < 10; kill++) {
      await new Promise((r) => setTimeout(r, 300 + Math.random() * 500));
      await agent.kill('SIGKILL');
      await new Promise((r) => setTimeout(r, Math.random() * 400));
      const before = await instanceVersion(ecs, cluster);
      agent = spawnAgent({ endpoint: plane.url, cluster, joinToken: token, stateDir });
      await waitFor(
        `the agent to say hello again after kill ${kill + 1}`,
        async () => (await instanceVersion(ecs, cluster)) > before,
      );
    }

    const final = await waitFor(
      'every exiting task to be recorded STOPPED',
      async () => {
        const tasks = await describeAll(
          ecs,
          cluster,
          exiting.map((e) => e.arn),
        );
        return tasks.every((t) => t.lastStatus === 'STOPPED') ? tasks : undefined;
      },
      30_000,
    );
    for (const [i, task] of final.entries()) {
      expect(task.containers![0].exitCode).toBe(exiting[i].code);
      expect(task.stopCode).toBe('EssentialContainerExited');
    }
    const after = await describeAll(ecs, cluster, longArns);
    expect(after.map((t) => t.lastStatus)).toEqual(['RUNNING', 'RUNNING', 'RUNNING']);
    expect(after.map((t) => t.containers![0].runtimeId)).toEqual(runtimeIds);
    for (const arn of [...longArns, ...exiting.map((e) => e.arn)]) {
      expect(await containersOfTask(arn)).toHaveLength(1);
    }
    for (const arn of longArns) expect((await containersOfTask(arn))[0].State).toBe('running');
    await stopWatching();
    rmSync(stateDir, { recursive: true, force: true });
  }, 180_000);

  it('loses no acknowledged task, duplicates none and marks no agent lost when the control plane is killed during a RunTask burst', async () => {
    const cluster = 'plane-kill';
    const dataDir = mkdtempSync(join(tmpdir(), 'berth-plane-kill-'));
    const port = await freePort();
    // A short disconnect grace, so the control plane's own downtime outlasts it.
    const graceMs = 3000;
    const env = { BERTH_AGENT_GRACE_MS: String(graceMs) };
    const credentials = await createTestKeyInDataDir(dataDir);
    let server = await spawnServer({ dataDir, port, env });
    cleanups.push(() => server.kill('SIGKILL'));
    const ecs = ecsClientFor(server.url, credentials);
    await ecs.send(new CreateClusterCommand({ clusterName: cluster }));
    await ecs.send(
      new RegisterTaskDefinitionCommand({
        family: 'burst',
        containerDefinitions: [
          { name: 'main', image: TEST_IMAGE, memory: 8, command: ['sleep', '3600'], stopTimeout: 1 },
        ],
      }),
    );
    const { execFileSync } = await import('node:child_process');
    const token = execFileSync(process.execPath, [
      new URL('../../../bin/berth.mjs', import.meta.url).pathname,
      'join-token',
      '--cluster',
      cluster,
      '--data-dir',
      dataDir,
    ])
      .toString()
      .trim();
    const agent = spawnAgent({ endpoint: server.url, cluster, joinToken: token });
    cleanups.push(() => agent.kill('SIGKILL'));
    await waitFor('the agent to register', async () => (await instanceVersion(ecs, cluster)) > 0);

    const CALLS = 40;
    const acknowledged = new Map<string, string>();
    const runOnce = async (i: number) => {
      const out = await ecs.send(
        new RunTaskCommand({ cluster, taskDefinition: 'burst', clientToken: `burst-${i}` }),
      );
      return out.tasks![0].taskArn!;
    };
    let killed = false;
    const burst = Array.from({ length: CALLS }, async (_, i) => {
      await new Promise((r) => setTimeout(r, i * 15));
      try {
        acknowledged.set(`burst-${i}`, await runOnce(i));
      } catch {
        // the control plane died under this call; it is retried below with the same clientToken
      }
      if (!killed && acknowledged.size >= 10) {
        killed = true;
        await server.kill('SIGKILL');
      }
    });
    await Promise.all(burst);
    expect(killed).toBe(true);
    expect(acknowledged.size).toBeLessThan(CALLS);

    await new Promise((r) => setTimeout(r, graceMs + 500));
    server = await spawnServer({ dataDir, port, env });
    // The control plane's own downtime must not count against its agents: the grace restarts with it.
    const list = await ecs.send(new ListContainerInstancesCommand({ cluster }));
    const afterRestart = await ecs.send(
      new DescribeContainerInstancesCommand({ cluster, containerInstances: list.containerInstanceArns }),
    );
    expect(afterRestart.containerInstances![0].agentConnected).toBe(true);
    const finalArns = new Map<string, string>();
    for (let i = 0; i < CALLS; i++) finalArns.set(`burst-${i}`, await runOnce(i));
    // Invariant 1: every acknowledged task is still there, under the same clientToken.
    for (const [token_, arn] of acknowledged) expect(finalArns.get(token_)).toBe(arn);
    // Invariant 2: one task per clientToken, and one container per task once the agent has them.
    const listed = await ecs.send(new ListTasksCommand({ cluster, maxResults: 100 }));
    expect(new Set(listed.taskArns).size).toBe(CALLS);
    expect(new Set(finalArns.values()).size).toBe(CALLS);
    cleanups.push(() => removeTaskContainers([...finalArns.values()]));
    await waitFor(
      'every task to run after the agent reconnects by itself',
      async () => {
        const tasks = await describeAll(ecs, cluster, [...finalArns.values()]);
        return tasks.every((t) => t.lastStatus === 'RUNNING');
      },
      60_000,
    );
    for (const arn of finalArns.values()) expect(await containersOfTask(arn)).toHaveLength(1);
    ecs.destroy();
    await server.kill();
    rmSync(dataDir, { recursive: true, force: true });
  }, 180_000);
});
