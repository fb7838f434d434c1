/**
 * Container health through the whole real path without Docker: the real agent on the simulated
 * runtime, a real control plane, the AWS SDK. Verdicts reach DescribeTasks as they change; a
 * disconnected agent leaves the last verdict in place; a verdict reached while the agent was away
 * arrives with its next hello.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateClusterCommand,
  DescribeTasksCommand,
  RegisterTaskDefinitionCommand,
  RunTaskCommand,
  type Task,
} from '@aws-sdk/client-ecs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningAgent, startAgent } from '../../agent';
import { SimulatedRuntime } from '../../agent/runtime/simulated-runtime';
import { runtimeNameOf } from '../../agent/tasks/naming';
import { mintJoinToken } from '../../worker/core/join-tokens/join-tokens';
import { startTestControlPlane, type TestControlPlane } from '../helpers/control-plane';
import { waitFor } from '../helpers/wait';

const CLUSTER = 'health';

describe('container health from a real agent on the simulated runtime', () => {
  let test: TestControlPlane;
  let agent: RunningAgent;
  const runtime = new SimulatedRuntime();
  let stateDir: string;

  const connectAgent = async () => {
    agent = await startAgent({
      endpoint: test.plane.url,
      cluster: CLUSTER,
      joinToken: await mintJoinToken(test.plane.deps, CLUSTER),
      attributes: [],
      stateDir,
      runtime,
      log: () => {},
    });
    await waitFor('the agent to be welcomed', () => agent.connected());
  };

  const describeTask = async (taskArn: string): Promise<Task> =>
    (await test.ecs.send(new DescribeTasksCommand({ cluster: CLUSTER, tasks: [taskArn] }))).tasks![0];

  const waitForTask = (taskArn: string, description: string, holds: (task: Task) => boolean) =>
    waitFor(`task ${taskArn}: ${description}`, async () => {
      const task = await describeTask(taskArn);
      return holds(task) ? task : undefined;
    });

  beforeAll(async () => {
    test = await startTestControlPlane();
    await test.ecs.send(new CreateClusterCommand({ clusterName: CLUSTER }));
    await test.ecs.send(
      new RegisterTaskDefinitionCommand({
        family: 'checked',
        containerDefinitions: [
          { name: 'app', image: 'app:1', memory: 64, healthCheck: { command: ['CMD', '/check'] } },
          { name: 'sidecar', image: 'sidecar:1', memory: 64, essential: false },
        ],
      }),
    );
    stateDir = mkdtempSync(join(tmpdir(), 'berth-health-it-'));
    await connectAgent();
  });

  afterAll(async () => {
    await agent?.stop();
    await test?.close();
    if (stateDir) rmSync(stateDir, { recursive: true, force: true });
  });

  it('shows each verdict in DescribeTasks, on the container and the task, as Docker changes it', async () => {
    const out = await test.ecs.send(new RunTaskCommand({ cluster: CLUSTER, taskDefinition: 'checked' }));
    const taskArn = out.tasks![0].taskArn!;
    const app = runtimeNameOf(taskArn, 'app');
    const running = await waitForTask(taskArn, 'RUNNING', (t) => t.lastStatus === 'RUNNING');
    expect(running.healthStatus).toBe('UNKNOWN');
    expect(running.containers!.map((c) => c.healthStatus)).toEqual(['UNKNOWN', 'UNKNOWN']);

    runtime.setHealth(app, 'healthy');
    const healthy = await waitForTask(taskArn, 'HEALTHY', (t) => t.healthStatus === 'HEALTHY');
    // The sidecar is not essential and has no check: it stays UNKNOWN without holding the task back.
    expect(healthy.containers!.map((c) => c.healthStatus)).toEqual(['HEALTHY', 'UNKNOWN']);

    runtime.setHealth(app, 'unhealthy');
    const unhealthy = await waitForTask(taskArn, 'UNHEALTHY', (t) => t.healthStatus === 'UNHEALTHY');
    expect(unhealthy.version).toBeGreaterThan(healthy.version!);
    expect(unhealthy.lastStatus).toBe('RUNNING');

    runtime.setHealth(app, 'healthy');
    await waitForTask(taskArn, 'HEALTHY again', (t) => t.healthStatus === 'HEALTHY');
  });

  it('keeps the last verdict while the agent is away, and learns the new one from its next hello', async () => {
    const out = await test.ecs.send(new RunTaskCommand({ cluster: CLUSTER, taskDefinition: 'checked' }));
    const taskArn = out.tasks![0].taskArn!;
    const app = runtimeNameOf(taskArn, 'app');
    await waitForTask(taskArn, 'RUNNING', (t) => t.lastStatus === 'RUNNING');
    runtime.setHealth(app, 'healthy');
    await waitForTask(taskArn, 'HEALTHY', (t) => t.healthStatus === 'HEALTHY');

    await agent.stop();
    // The control plane does not guess: the last verdict stays, whatever happens on the host meanwhile.
    runtime.setHealth(app, 'unhealthy');
    expect((await describeTask(taskArn)).healthStatus).toBe('HEALTHY');

    await connectAgent();
    await waitForTask(taskArn, 'UNHEALTHY after the reconnect', (t) => t.healthStatus === 'UNHEALTHY');
  });
});
