/**
 * The real agent against real Docker, driven frame by frame by a fake control plane.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, hostname, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningAgent, startAgent } from '../../agent';
import { CONTAINER_LABELS } from '../../protocol/labels';
import { PROTOCOL_VERSION } from '../../protocol/link';
import type { DesiredTask } from '../../protocol/task-frames';
import {
  buildContainer,
  buildTask,
  ensureTestImage,
  FakeControlPlane,
  type Hello,
  removeTestContainers,
  TEST_RUN_LABEL,
} from '../helpers/fake-control-plane';
import { waitFor } from '../helpers/wait';

const CLUSTER = `agent-it-${randomBytes(4).toString('hex')}`;
const JOIN_TOKEN = 'agent-test-token';
const TEST_RUN = randomBytes(6).toString('hex');
const docker = new Docker();

let plane: FakeControlPlane;
let agent: RunningAgent;
let stateDir: string;
let hello: Hello;
const logs: string[] = [];

const task = (containers: Parameters<typeof buildTask>[2], overrides?: Partial<DesiredTask>) =>
  buildTask(CLUSTER, TEST_RUN, containers, overrides);
const inspect = (id: string) => docker.getContainer(id).inspect();
const startedAtMs = async (id: string) => Date.parse((await inspect(id)).State.StartedAt);
const finishedAtMs = async (id: string) => Date.parse((await inspect(id)).State.FinishedAt);

/** Sends runTask and waits until the agent reports the task RUNNING; returns that report. */
async function runUntilRunning(desired: DesiredTask) {
  plane.runTask(desired);
  return plane.waitForTaskState(desired.taskArn, 'RUNNING');
}

function runtimeIdOf(report: { task: { containers: { name: string; runtimeId?: string }[] } }, name: string) {
  const id = report.task.containers.find((c) => c.name === name)?.runtimeId;
  if (!id) throw new Error(`container ${name} has no runtimeId in ${JSON.stringify(report)}`);
  return id;
}

beforeAll(async () => {
  await ensureTestImage();
  plane = await FakeControlPlane.start({ cluster: CLUSTER, joinToken: JOIN_TOKEN });
  stateDir = mkdtempSync(join(tmpdir(), 'berth-agent-it-'));
  agent = await startAgent({
    endpoint: plane.url,
    cluster: CLUSTER,
    joinToken: JOIN_TOKEN,
    attributes: [{ name: 'berth.test', value: 'agent' }],
    stateDir,
    log: (line) => logs.push(line),
  });
  hello = await plane.waitForHello();
  await waitFor('the agent to be welcomed', () => agent.connected());
});

afterAll(async () => {
  await agent?.stop();
  await plane?.close();
  await removeTestContainers(TEST_RUN);
  rmSync(stateDir, { recursive: true, force: true });
});

describe('the agent link', () => {
  it('says hello with its versions, host, resources and attributes', async () => {
    const engine = await docker.version();
    const packageVersion = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'))
      .version as string;
    expect(hello.protocolVersion).toBe(PROTOCOL_VERSION);
    expect(hello.agentVersion).toBe(packageVersion);
    expect(hello.instanceId).toBeUndefined();
    expect(hello.hostname).toBe(hostname());
    expect(hello.dockerVersion).toBe(engine.Version);
    expect(hello.resources).toEqual({
      cpu: cpus().length * 1024,
      memoryMiB: Math.floor(totalmem() / (1024 * 1024)),
    });
    const attributes = new Map(hello.attributes.map((a) => [a.name, a.value]));
    expect(attributes.get('ecs.os-type')).toBe('linux');
    expect(attributes.get('ecs.os-family')).toBe('LINUX');
    expect(['x86_64', 'arm64']).toContain(attributes.get('ecs.cpu-architecture'));
    expect(attributes.get('berth.docker-version')).toBe(engine.Version);
    expect(attributes.get('berth.test')).toBe('agent');
    expect(hello.tasks).toEqual([]);
  });

  it('keeps the instance id from the welcome in its state file', () => {
    expect(agent.instanceId()).toBe(plane.instanceId);
    const state = JSON.parse(readFileSync(join(stateDir, 'state.json'), 'utf8'));
    expect(state).toMatchObject({ cluster: CLUSTER, instanceId: plane.instanceId });
  });
});

describe('running a task', () => {
  it('reports PENDING then RUNNING and creates a labelled container with a deterministic name', async () => {
    const desired = task([buildContainer({ name: 'main', command: ['sleep', '600'] })]);
    const messageId = plane.runTask(desired);
    await plane.waitForFrame('the ack', (f) => f.type === 'ack' && f.messageId === messageId);
    const pending = await plane.waitForTaskState(desired.taskArn, 'PENDING');
    const running = await plane.waitForTaskState(desired.taskArn, 'RUNNING');
    expect(running.seq).toBeGreaterThan(pending.seq);
    expect(running.task.startedAtMs).toBeTypeOf('number');
    expect(running.task.containers).toMatchObject([{ name: 'main', lastStatus: 'RUNNING' }]);

    const container = await inspect(runtimeIdOf(running, 'main'));
    const taskId = desired.taskArn.split('/').at(-1);
    expect(container.Name).toBe(`/berth-${taskId}-main`);
    expect(container.State.Running).toBe(true);
    expect(container.Config.Labels).toMatchObject({
      [CONTAINER_LABELS.taskArn]: desired.taskArn,
      [CONTAINER_LABELS.containerName]: 'main',
      [CONTAINER_LABELS.instanceId]: plane.instanceId,
      [CONTAINER_LABELS.generation]: '1',
      [CONTAINER_LABELS.cluster]: CLUSTER,
      [TEST_RUN_LABEL]: TEST_RUN,
    });
  });

  it('passes the container spec to Docker the way ECS does', async () => {
    const desired = task([
      buildContainer({
        name: 'spec',
        entryPoint: ['sh', '-c'],
        command: ['sleep 600'],
        environment: [
          { name: 'GREETING', value: 'hello' },
          { name: 'EMPTY', value: '' },
        ],
        cpu: 1,
        memoryMiB: 64,
        memoryReservationMiB: 32,
        workingDirectory: '/tmp',
        user: 'nobody',
        hostname: 'berth-host',
        dockerLabels: { 'com.example.team': 'ops' },
      }),
    ]);
    const running = await runUntilRunning(desired);
    const container = await inspect(runtimeIdOf(running, 'spec'));
    expect(container.Config.Entrypoint).toEqual(['sh', '-c']);
    expect(container.Config.Cmd).toEqual(['sleep 600']);
    expect(container.Config.Env).toEqual(expect.arrayContaining(['GREETING=hello', 'EMPTY=']));
    expect(container.Config.WorkingDir).toBe('/tmp');
    expect(container.Config.User).toBe('nobody');
    expect(container.Config.Hostname).toBe('berth-host');
    expect(container.Config.Labels['com.example.team']).toBe('ops');
    // ECS passes fewer than 2 CPU units as 2 shares, the kernel's minimum.
    expect(container.HostConfig.CpuShares).toBe(2);
    expect(container.HostConfig.Memory).toBe(64 * 1024 * 1024);
    expect(container.HostConfig.MemoryReservation).toBe(32 * 1024 * 1024);
    expect(container.HostConfig.NetworkMode).toBe('bridge');
  });

  it('stops the task with EssentialContainerExited and the real exit code when its essential container exits', async () => {
    const desired = task([buildContainer({ name: 'main', command: ['sh', '-c', 'exit 3'] })]);
    plane.runTask(desired);
    const stopped = await plane.waitForTaskState(desired.taskArn, 'STOPPED');
    expect(stopped.task.stopCode).toBe('EssentialContainerExited');
    expect(stopped.task.stoppedReason).toBe('Essential container in task exited');
    expect(stopped.task.containers).toMatchObject([{ name: 'main', lastStatus: 'STOPPED', exitCode: 3 }]);
    expect(stopped.task.executionStoppedAtMs).toBeTypeOf('number');
  });

  it('records a non-essential container exit without stopping the task', async () => {
    const desired = task([
      buildContainer({ name: 'main', command: ['sleep', '600'] }),
      buildContainer({ name: 'sidecar', essential: false, command: ['sh', '-c', 'sleep 0.2; exit 5'] }),
    ]);
    plane.runTask(desired);
    const report = await plane.waitForTaskState(desired.taskArn, 'RUNNING', (t) =>
      t.containers.some((c) => c.name === 'sidecar' && c.lastStatus === 'STOPPED'),
    );
    expect(report.task.containers).toMatchObject([
      { name: 'main', lastStatus: 'RUNNING' },
      { name: 'sidecar', lastStatus: 'STOPPED', exitCode: 5 },
    ]);
    expect((await inspect(runtimeIdOf(report, 'main'))).State.Running).toBe(true);
  });

  it('starts a container only after the container it depends on has completed', async () => {
    const desired = task([
      buildContainer({
        name: 'app',
        command: ['sleep', '600'],
        dependsOn: [{ containerName: 'setup', condition: 'COMPLETE' }],
      }),
      buildContainer({ name: 'setup', essential: false, command: ['sh', '-c', 'sleep 1; exit 0'] }),
    ]);
    const running = await runUntilRunning(desired);
    expect(running.task.containers).toMatchObject([
      { name: 'app', lastStatus: 'RUNNING' },
      { name: 'setup', lastStatus: 'STOPPED', exitCode: 0 },
    ]);
    const setupFinishedMs = await finishedAtMs(runtimeIdOf(running, 'setup'));
    expect(await startedAtMs(runtimeIdOf(running, 'app'))).toBeGreaterThanOrEqual(setupFinishedMs);
  });

  it('fails the task without starting the dependent when a SUCCESS dependency exits non-zero', async () => {
    const desired = task([
      buildContainer({ name: 'setup', essential: false, command: ['sh', '-c', 'exit 4'] }),
      buildContainer({
        name: 'app',
        command: ['sleep', '600'],
        dependsOn: [{ containerName: 'setup', condition: 'SUCCESS' }],
      }),
    ]);
    plane.runTask(desired);
    const stopped = await plane.waitForTaskState(desired.taskArn, 'STOPPED');
    expect(stopped.task.stopCode).toBe('TaskFailedToStart');
    expect(stopped.task.stoppedReason).toBe('dependency setup exited with code 4');
    const app = stopped.task.containers.find((c) => c.name === 'app')!;
    expect(app.exitCode).toBeUndefined();
    expect((await inspect(app.runtimeId!)).State.StartedAt).toMatch(/^0001-01-01/);
  });

  it('starts linked containers first and links them under their alias', async () => {
    const desired = task([
      buildContainer({
        name: 'web',
        command: ['sh', '-c', 'grep -q database /etc/hosts && sleep 600'],
        links: ['db:database'],
      }),
      buildContainer({ name: 'db', command: ['sleep', '600'] }),
    ]);
    const running = await runUntilRunning(desired);
    expect((await inspect(runtimeIdOf(running, 'web'))).State.Running).toBe(true);
  });

  it('stops a task whose image cannot be pulled with CannotPullContainerError instead of hanging', async () => {
    const desired = task([
      buildContainer({ name: 'main', image: '127.0.0.1:1/berth/does-not-exist:latest' }),
    ]);
    plane.runTask(desired);
    const stopped = await plane.waitForTaskState(desired.taskArn, 'STOPPED');
    expect(stopped.task.stopCode).toBe('TaskFailedToStart');
    expect(stopped.task.stoppedReason).toMatch(/^CannotPullContainerError: .*127\.0\.0\.1:1/);
    expect(stopped.task.containers).toMatchObject([{ name: 'main', lastStatus: 'STOPPED' }]);
    expect(stopped.task.containers[0].reason).toMatch(/^CannotPullContainerError: /);
    expect(stopped.task.pullStartedAtMs).toBeTypeOf('number');
  });

  it('reports the ephemeral host port Docker picked, and the port answers', async () => {
    const desired = task([
      buildContainer({
        name: 'web',
        command: ['sh', '-c', 'echo berth-ok > /tmp/index.html && httpd -f -p 8080 -h /tmp'],
        portMappings: [{ containerPort: 8080, protocol: 'tcp' }],
      }),
    ]);
    const running = await runUntilRunning(desired);
    const bindings = running.task.containers[0].networkBindings ?? [];
    const ipv4 = bindings.find((b) => b.bindIP === '0.0.0.0');
    expect(ipv4).toMatchObject({ containerPort: 8080, protocol: 'tcp' });
    expect(ipv4!.hostPort).toBeGreaterThan(0);
    const body = await waitFor('the task to answer on its host port', async () => {
      const response = await fetch(`http://127.0.0.1:${ipv4!.hostPort}/index.html`);
      return response.ok ? response.text() : undefined;
    });
    expect(body.trim()).toBe('berth-ok');
  });
});

describe('commands', () => {
  it('acknowledges a duplicate runTask again and does nothing else', async () => {
    const desired = task([buildContainer({ name: 'main', command: ['sleep', '600'] })]);
    const running = await runUntilRunning(desired);
    const containerId = runtimeIdOf(running, 'main');
    const firstStartMs = await startedAtMs(containerId);

    const reportsBefore = plane.reportsOf(desired.taskArn).length;
    const duplicate = plane.runTask(desired);
    const stale = plane.runTask({ ...desired, generation: 0 });
    await plane.waitForFrame('both acks', () => plane.acksOf(duplicate) === 1 && plane.acksOf(stale) === 1);
    plane.stopTask(desired.taskArn, 2);
    await plane.waitForTaskState(desired.taskArn, 'STOPPED');

    const reportsAfter = plane.reportsOf(desired.taskArn).slice(reportsBefore);
    expect(reportsAfter.filter((r) => r.task.lastStatus === 'PENDING')).toEqual([]);
    const containers = await docker.listContainers({
      all: true,
      filters: { label: [`${CONTAINER_LABELS.taskArn}=${desired.taskArn}`] },
    });
    expect(containers.map((c) => c.Id)).toEqual([containerId]);
    expect(await startedAtMs(containerId)).toBe(firstStartMs);
  });

  it('stops a task with SIGTERM, and SIGKILL after the stop timeout for a container that ignores it', async () => {
    const desired = task([
      buildContainer({
        name: 'graceful',
        command: ['sh', '-c', 'trap "exit 0" TERM; while true; do sleep 0.1; done'],
        stopTimeoutSeconds: 10,
      }),
      buildContainer({
        name: 'stubborn',
        command: ['sh', '-c', 'trap "" TERM; while true; do sleep 0.1; done'],
        stopTimeoutSeconds: 1,
      }),
    ]);
    const running = await runUntilRunning(desired);
    const messageId = plane.stopTask(desired.taskArn, 2, 'test is done');
    await plane.waitForFrame('the stopTask ack', (f) => f.type === 'ack' && f.messageId === messageId);
    const stopped = await plane.waitForTaskState(desired.taskArn, 'STOPPED');

    expect(stopped.task.generation).toBe(2);
    expect(stopped.task.stopCode).toBeUndefined();
    expect(stopped.task.containers).toMatchObject([
      { name: 'graceful', lastStatus: 'STOPPED', exitCode: 0 },
      { name: 'stubborn', lastStatus: 'STOPPED', exitCode: 137 },
    ]);
    const gracefulFinishedMs = await finishedAtMs(runtimeIdOf(running, 'graceful'));
    const stubbornFinishedMs = await finishedAtMs(runtimeIdOf(running, 'stubborn'));
    expect(stubbornFinishedMs - gracefulFinishedMs).toBeGreaterThanOrEqual(700);
    // Containers of stopped tasks are left in place.
    expect((await inspect(runtimeIdOf(running, 'graceful'))).State.Status).toBe('exited');
  });

  it('reports a stop for a task it never received as STOPPED', async () => {
    const desired = task([buildContainer({ name: 'main', command: ['sleep', '600'] })]);
    plane.stopTask(desired.taskArn, 3);
    const stopped = await plane.waitForTaskState(desired.taskArn, 'STOPPED');
    expect(stopped.task.generation).toBe(3);
    const containers = await docker.listContainers({
      all: true,
      filters: { label: [`${CONTAINER_LABELS.taskArn}=${desired.taskArn}`] },
    });
    expect(containers).toEqual([]);
  });

  it('increases seq with every report about a task', async () => {
    const seqs = new Map<string, number[]>();
    for (const received of plane.frames) {
      if (received.frame.type !== 'taskState') continue;
      const arn = received.frame.task.taskArn;
      seqs.set(arn, [...(seqs.get(arn) ?? []), received.frame.seq]);
    }
    expect(seqs.size).toBeGreaterThan(5);
    for (const list of seqs.values()) expect(list).toEqual([...list].sort((a, b) => a - b));
    for (const list of seqs.values()) expect(new Set(list).size).toBe(list.length);
  });
});
