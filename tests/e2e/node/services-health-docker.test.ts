/**
 * A health check that starts failing, with a real agent and real Docker: a service's containers are
 * healthy while /tmp/ok exists; removing it in one container makes Docker call that container
 * unhealthy, the task turns UNHEALTHY in DescribeTasks, and the service replaces it start-first
 * (the replacement is healthy before the unhealthy task is stopped), leaving the other task alone.
 */
import { rmSync } from 'node:fs';
import {
  CreateClusterCommand,
  CreateServiceCommand,
  DescribeServicesCommand,
  DescribeTasksCommand,
  ListTasksCommand,
  RegisterTaskDefinitionCommand,
  type Task,
  waitUntilServicesStable,
} from '@aws-sdk/client-ecs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AgentProcess, spawnAgent } from '../../helpers/agent-process';
import { docker, TEST_IMAGE } from '../../helpers/docker';
import {
  isHealthy,
  isLive,
  lookAtCluster,
  removeClusterContainers,
  sampleCluster,
} from '../../helpers/docker-sampler';
import { waitForCompletedDeployments, waitForConnectedInstance } from '../../helpers/ecs-queries';
import { nodeRuntime, type RunningRuntime } from '../../helpers/runtimes';
import { waitFor } from '../../helpers/wait';

const CLUSTER = `svc-health-${Math.random().toString(36).slice(2, 8)}`;
const SERVICE = 'app';
const DESIRED = 2;
const WAITER = { minDelay: 1, maxDelay: 1, maxWaitTime: 90 };
/** A verdict takes up to one probe interval (5 s, ECS's shortest) plus the agent's report. */
const VERDICT_TIMEOUT_MS = 30_000;

describe('a service task whose health check starts failing, with real Docker', () => {
  let runtime: RunningRuntime;
  let agent: AgentProcess;

  beforeAll(async () => {
    runtime = await nodeRuntime.start();
    await runtime.ecs.send(new CreateClusterCommand({ clusterName: CLUSTER }));
    agent = spawnAgent({
      endpoint: runtime.endpoint,
      cluster: CLUSTER,
      joinToken: await runtime.mintJoinToken(CLUSTER),
    });
    await waitForConnectedInstance(runtime.ecs, CLUSTER, () => agent.output());
  });

  afterAll(async () => {
    await agent?.kill();
    if (agent) rmSync(agent.stateDir, { recursive: true, force: true });
    await removeClusterContainers(CLUSTER);
    await runtime?.close();
  });

  const describeTask = async (taskArn: string): Promise<Task> =>
    (await runtime.ecs.send(new DescribeTasksCommand({ cluster: CLUSTER, tasks: [taskArn] }))).tasks![0];

  it('turns the task UNHEALTHY, starts a replacement, then stops it with the health-check event', async () => {
    const registered = await runtime.ecs.send(
      new RegisterTaskDefinitionCommand({
        family: CLUSTER,
        containerDefinitions: [
          {
            name: 'main',
            image: TEST_IMAGE,
            memory: 16,
            essential: true,
            stopTimeout: 2,
            command: ['sh', '-c', 'touch /tmp/ok; trap "exit 0" TERM; sleep 3600 & wait'],
            // One failed probe is a verdict; the generous timeout keeps a slow probe on a busy machine from being one.
            healthCheck: { command: ['CMD-SHELL', 'test -f /tmp/ok'], interval: 5, timeout: 5, retries: 1 },
          },
        ],
      }),
    );
    await runtime.ecs.send(
      new CreateServiceCommand({
        cluster: CLUSTER,
        serviceName: SERVICE,
        taskDefinition: registered.taskDefinition!.taskDefinitionArn!,
        desiredCount: DESIRED,
      }),
    );
    await waitUntilServicesStable(
      { client: runtime.ecs, ...WAITER },
      { cluster: CLUSTER, services: [SERVICE] },
    );
    const [victim, bystander] = await waitFor(
      `${DESIRED} healthy containers`,
      async () => {
        const healthy = (await lookAtCluster(CLUSTER)).filter(isHealthy);
        return healthy.length === DESIRED && healthy;
      },
      VERDICT_TIMEOUT_MS,
    ).catch((error) => {
      throw new Error(`${String(error)}\nagent output:\n${agent.output()}`);
    });
    // The agent reports Docker's verdicts: the API follows Docker, a moment later.
    await waitForCompletedDeployments(runtime.ecs, CLUSTER, [SERVICE], VERDICT_TIMEOUT_MS);
    expect((await describeTask(victim.taskArn)).healthStatus).toBe('HEALTHY');

    const sampler = sampleCluster(CLUSTER, 50);
    const exec = await docker.getContainer(victim.id).exec({ Cmd: ['rm', '/tmp/ok'] });
    await exec.start({});
    await waitFor(
      'Docker to call the container unhealthy',
      async () => (await docker.getContainer(victim.id).inspect()).State.Health?.Status === 'unhealthy',
      VERDICT_TIMEOUT_MS,
    );
    // The replacement needs a passing probe (≥ 5 s) before the unhealthy task is stopped: time enough to see it.
    const unhealthy = await waitFor(
      'the task to be UNHEALTHY in DescribeTasks',
      async () => {
        const task = await describeTask(victim.taskArn);
        return task.healthStatus === 'UNHEALTHY' && task;
      },
      VERDICT_TIMEOUT_MS,
      100,
    );
    expect(unhealthy.containers![0].healthStatus).toBe('UNHEALTHY');

    const replaced = await waitFor(
      'a healthy replacement beside the untouched task, and the unhealthy container gone',
      async () => {
        const containers = await lookAtCluster(CLUSTER);
        const live = containers.filter(isLive);
        return (
          live.length === DESIRED &&
          live.every(isHealthy) &&
          live.some((c) => c.id === bystander.id) &&
          !live.some((c) => c.id === victim.id) &&
          containers
        );
      },
      60_000,
    );
    const samples = await sampler.stop();
    const replacement = replaced.find((c) => c.state === 'running' && c.id !== bystander.id)!;
    // Three tasks in all: the victim's one replacement, no other task touched.
    expect(new Set(replaced.map((c) => c.taskArn)).size).toBe(DESIRED + 1);
    expect(replacement.taskArn).not.toBe(victim.taskArn);

    const stopped = await waitFor(
      'the unhealthy task to be STOPPED',
      async () => {
        const task = await describeTask(victim.taskArn);
        return task.lastStatus === 'STOPPED' && task;
      },
      VERDICT_TIMEOUT_MS,
    );
    expect(stopped.stopCode).toBe('ServiceSchedulerInitiated');
    expect(stopped.stoppedReason).toMatch(/^Scaling activity initiated by \(deployment ecs-svc\/\d{19}\)$/);
    expect((await describeTask(bystander.taskArn)).lastStatus).toBe('RUNNING');
    const listed = await runtime.ecs.send(
      new ListTasksCommand({ cluster: CLUSTER, serviceName: SERVICE, desiredStatus: 'RUNNING' }),
    );
    expect(new Set(listed.taskArns)).toEqual(new Set([bystander.taskArn, replacement.taskArn]));
    const service = (
      await runtime.ecs.send(new DescribeServicesCommand({ cluster: CLUSTER, services: [SERVICE] }))
    ).services![0];
    const victimId = victim.taskArn.split('/').at(-1);
    expect(service.events!.map((e) => e.message)).toContain(
      `(service ${SERVICE}) (task ${victimId}) failed container health checks.`,
    );

    // Start-first, within maximumPercent 200: the replacement was healthy while the unhealthy container still ran,
    // and the untouched task stayed healthy throughout.
    expect(
      samples.some(
        (s) =>
          s.containers.some((c) => c.id === victim.id && c.state === 'running') &&
          s.containers.some((c) => c.taskArn === replacement.taskArn && isHealthy(c)),
      ),
    ).toBe(true);
    for (const sample of samples) {
      expect(sample.containers.some((c) => c.id === bystander.id && isHealthy(c))).toBe(true);
      expect(sample.containers.filter(isLive).length).toBeLessThanOrEqual(DESIRED * 2);
    }
  }, 150_000);
});
