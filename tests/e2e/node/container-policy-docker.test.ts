/**
 * The container policy as Docker sees it: with everything allowed, a real agent runs a task that is
 * privileged, on the host's network, PID and IPC namespaces, with an added capability, a device and
 * a read-only bind mount of an allowed directory, and `docker inspect` shows each one (an engine
 * that cannot start privileged containers, as in a restricted sandbox, still creates one as asked). A bind
 * source under the allowed directory that is a symlink pointing outside it passes the control
 * plane's check (it compares paths) but not the agent's (it resolves them): the task stops with the
 * reason, and no container is created.
 */
import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type ContainerDefinition,
  CreateClusterCommand,
  DescribeTasksCommand,
  RegisterTaskDefinitionCommand,
  type RegisterTaskDefinitionCommandInput,
  RunTaskCommand,
  StopTaskCommand,
} from '@aws-sdk/client-ecs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AgentProcess, spawnAgent } from '../../helpers/agent-process';
import { signedFetch } from '../../helpers/credentials';
import { containersOfTask, docker, removeTaskContainers, TEST_IMAGE } from '../../helpers/docker';
import { describeAll, waitForConnectedInstance, waitForStatus } from '../../helpers/ecs-queries';
import { nodeRuntime, type RunningRuntime } from '../../helpers/runtimes';
import { waitFor } from '../../helpers/wait';

const CLUSTER = `policy-docker-${Math.random().toString(36).slice(2, 8)}`;

describe('the container policy applied by a real agent, checked with docker inspect', () => {
  let runtime: RunningRuntime;
  let agent: AgentProcess;
  let root: string;
  let allowed: string;
  const taskArns: string[] = [];
  let engineRunsPrivileged = false;

  beforeAll(async () => {
    // Resolved up front: a temp dir behind a symlink must not make the allowed path itself look outside.
    root = realpathSync(mkdtempSync(join(tmpdir(), 'berth-policy-')));
    allowed = join(root, 'allowed');
    mkdirSync(allowed);
    writeFileSync(join(allowed, 'hello.txt'), 'hi');
    mkdirSync(join(root, 'outside'));
    writeFileSync(join(root, 'outside', 'secret.txt'), 'secret');
    symlinkSync(join(root, 'outside'), join(allowed, 'escape'));
    symlinkSync('/var/run/docker.sock', join(allowed, 'docker.sock'));

    engineRunsPrivileged = await canRunPrivileged();
    runtime = await nodeRuntime.start();
    await runtime.ecs.send(new CreateClusterCommand({ clusterName: CLUSTER }));
    const response = await signedFetch(
      `${runtime.endpoint}/berth/v1/clusters/${CLUSTER}/container-policy`,
      {
        method: 'PUT',
        body: JSON.stringify({
          allow: ['privileged', 'host-network', 'host-pid', 'host-ipc', 'capabilities', 'devices'],
          hostPaths: [allowed],
        }),
      },
      runtime.credentials,
    );
    expect(response.status).toBe(200);
    agent = spawnAgent({
      endpoint: runtime.endpoint,
      cluster: CLUSTER,
      joinToken: await runtime.mintJoinToken(CLUSTER),
    });
    await waitForConnectedInstance(runtime.ecs, CLUSTER, () => agent.output());
  });

  afterAll(async () => {
    for (const task of taskArns) {
      await runtime?.ecs.send(new StopTaskCommand({ cluster: CLUSTER, task })).catch(() => undefined);
    }
    await removeTaskContainers(taskArns);
    await agent?.kill();
    if (agent) rmSync(agent.stateDir, { recursive: true, force: true });
    await runtime?.close();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  async function runTask(
    family: string,
    sourcePath: string,
    extra: Omit<RegisterTaskDefinitionCommandInput, 'family' | 'containerDefinitions'> & {
      container?: Partial<ContainerDefinition>;
    } = {},
  ) {
    const { container, ...taskLevel } = extra;
    await runtime.ecs.send(
      new RegisterTaskDefinitionCommand({
        family,
        volumes: [{ name: 'data', host: { sourcePath } }],
        containerDefinitions: [
          {
            name: 'main',
            image: TEST_IMAGE,
            memory: 16,
            stopTimeout: 1,
            // Exits unless the mount shows the allowed directory's file, so RUNNING proves the bind.
            command: ['sh', '-c', 'test "$(cat /data/hello.txt)" = hi || exit 3; exec sleep 3600'],
            mountPoints: [{ sourceVolume: 'data', containerPath: '/data', readOnly: true }],
            ...container,
          },
        ],
        ...taskLevel,
      }),
    );
    const out = await runtime.ecs.send(new RunTaskCommand({ cluster: CLUSTER, taskDefinition: family }));
    expect(out.failures).toEqual([]);
    const taskArn = out.tasks![0].taskArn!;
    taskArns.push(taskArn);
    return taskArn;
  }

  it('gives the containers every allowed setting, as docker inspect shows', async () => {
    const mountOnly = await runTask('mount-only', allowed);
    const hostTask = await runTask('host-everything', allowed, {
      networkMode: 'host',
      pidMode: 'host',
      ipcMode: 'host',
      container: {
        linuxParameters: {
          capabilities: { add: ['NET_ADMIN'] },
          devices: [
            { hostPath: '/dev/zero', containerPath: '/dev/berth-zero', permissions: ['read', 'write'] },
          ],
        },
      },
    });
    // Alone in its task: some engines (rootless, or inside a restricted sandbox) cannot start it.
    const privilegedTask = await runTask('privileged', allowed, { container: { privileged: true } });
    const settled = await waitFor(
      'the tasks to leave PENDING',
      async () => {
        const tasks = await describeAll(runtime.ecs, CLUSTER, [mountOnly, hostTask, privilegedTask]);
        return tasks.every((t) => t.lastStatus !== 'PENDING') && tasks;
      },
      60_000,
    );
    expect(settled.map((t) => [t.lastStatus, t.stoppedReason ?? ''])).toEqual([
      ['RUNNING', ''],
      ['RUNNING', ''],
      engineRunsPrivileged
        ? ['RUNNING', '']
        : ['STOPPED', expect.stringMatching(/^CannotStartContainerError: .*unable to apply caps/)],
    ]);

    const hostConfigOf = async (taskArn: string) => {
      const [info] = await containersOfTask(taskArn);
      return (await docker.getContainer(info.Id).inspect()).HostConfig;
    };
    const host = await hostConfigOf(hostTask);
    expect(host.NetworkMode).toBe('host');
    expect(host.PidMode).toBe('host');
    expect(host.IpcMode).toBe('host');
    expect(host.CapAdd).toEqual(['NET_ADMIN']);
    expect(host.Devices).toEqual([
      { PathOnHost: '/dev/zero', PathInContainer: '/dev/berth-zero', CgroupPermissions: 'rw' },
    ]);
    expect(host.Binds).toEqual([`${allowed}:/data:ro`]);
    expect(host.Privileged).toBe(false);
    expect((await hostConfigOf(privilegedTask)).Privileged).toBe(true);

    // The mount alone: every other setting stays Docker's default.
    const plain = await hostConfigOf(mountOnly);
    expect(plain.Binds).toEqual([`${allowed}:/data:ro`]);
    expect([
      plain.Privileged,
      plain.NetworkMode,
      plain.PidMode,
      plain.CapAdd ?? null,
      plain.Devices ?? [],
    ]).toEqual([false, 'bridge', '', null, []]);
  }, 90_000);

  it('stops a task whose bind source resolves outside the allowed paths, creating no container', async () => {
    const taskArn = await runTask('escape', join(allowed, 'escape'));
    await waitForStatus(runtime.ecs, CLUSTER, [taskArn], 'STOPPED', 30_000);
    const [task] = (await runtime.ecs.send(new DescribeTasksCommand({ cluster: CLUSTER, tasks: [taskArn] })))
      .tasks!;
    expect(task.stoppedReason).toContain(
      `host path '${join(allowed, 'escape')}' (which resolves to '${join(root, 'outside')}') ` +
        `is outside the cluster's allowed host paths (${allowed})`,
    );
    expect(await containersOfTask(taskArn)).toEqual([]);
  }, 60_000);

  it("stops a task whose bind source is a link to Docker's socket, which the policy does not allow", async () => {
    const taskArn = await runTask('socket-link', join(allowed, 'docker.sock'));
    await waitForStatus(runtime.ecs, CLUSTER, [taskArn], 'STOPPED', 30_000);
    const [task] = (await runtime.ecs.send(new DescribeTasksCommand({ cluster: CLUSTER, tasks: [taskArn] })))
      .tasks!;
    expect(task.stoppedReason).toMatch(
      /^CannotCreateContainerError: host path '.*\/allowed\/docker\.sock' \(which resolves to '.*docker\.sock'\) exposes Docker's socket, which the cluster's container policy does not allow$/,
    );
    expect(await containersOfTask(taskArn)).toEqual([]);
  }, 60_000);
});

/** Whether this Docker engine can start a privileged container at all (not inside a restricted sandbox). */
async function canRunPrivileged(): Promise<boolean> {
  const probe = await docker.createContainer({
    Image: TEST_IMAGE,
    Cmd: ['true'],
    HostConfig: { Privileged: true, AutoRemove: false },
  });
  try {
    await probe.start();
    return true;
  } catch {
    return false;
  } finally {
    await probe.remove({ force: true }).catch(() => undefined);
  }
}
