/**
 * Losing the Docker engine: the agent talks to Docker through a socket proxy the test can cut, as
 * an engine restart would, without disturbing the real engine other tests use.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DockerRuntime, type RunningAgent, startAgent } from '../../agent';
import {
  buildContainer,
  buildTask,
  ensureTestImage,
  FakeControlPlane,
  removeTestContainers,
} from '../helpers/fake-control-plane';
import { waitFor } from '../helpers/wait';

const CLUSTER = `agent-engine-${randomBytes(4).toString('hex')}`;
const JOIN_TOKEN = 'agent-engine-token';
const TEST_RUN = randomBytes(6).toString('hex');
const docker = new Docker();

/** Where the real engine listens, as dockerode would find it. */
function connectToEngine(): Socket {
  const host = process.env.DOCKER_HOST ?? 'unix:///var/run/docker.sock';
  if (host.startsWith('unix://')) return createConnection(host.slice('unix://'.length));
  const url = new URL(host.replace(/^tcp:/, 'http:'));
  return createConnection(Number(url.port), url.hostname);
}

/** A unix-socket proxy to the engine that can be cut (every connection dropped, new ones refused) and restored. */
class EngineProxy {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();

  constructor(readonly socketPath: string) {}

  async listen(): Promise<void> {
    rmSync(this.socketPath, { force: true });
    this.server = createServer((client) => {
      const engine = connectToEngine();
      for (const socket of [client, engine]) {
        this.sockets.add(socket);
        socket.on('close', () => this.sockets.delete(socket));
        socket.on('error', () => {
          client.destroy();
          engine.destroy();
        });
      }
      client.pipe(engine).pipe(client);
    });
    await new Promise<void>((resolve) => this.server!.listen(this.socketPath, resolve));
  }

  async cut(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
    for (const socket of this.sockets) socket.destroy();
    await closed;
  }
}

let plane: FakeControlPlane;
let agent: RunningAgent;
let proxy: EngineProxy;
let stateDir: string;
const logs: string[] = [];

beforeAll(async () => {
  await ensureTestImage();
  stateDir = mkdtempSync(join(tmpdir(), 'berth-agent-engine-'));
  proxy = new EngineProxy(join(stateDir, 'docker.sock'));
  await proxy.listen();
  plane = await FakeControlPlane.start({ cluster: CLUSTER, joinToken: JOIN_TOKEN });
  agent = await startAgent({
    endpoint: plane.url,
    cluster: CLUSTER,
    joinToken: JOIN_TOKEN,
    attributes: [],
    stateDir,
    runtime: new DockerRuntime(new Docker({ socketPath: proxy.socketPath })),
    log: (line) => logs.push(line),
  });
  await plane.waitForHello();
  await waitFor('the welcome', () => agent.connected());
});

afterAll(async () => {
  await agent?.stop();
  await proxy?.cut();
  await plane?.close();
  await removeTestContainers(TEST_RUN);
  rmSync(stateDir, { recursive: true, force: true });
});

describe('losing the Docker engine', () => {
  it('reconnects and reports, with its real exit code, a container that died while the engine was away', async () => {
    const desired = buildTask(CLUSTER, TEST_RUN, [
      buildContainer({
        name: 'main',
        command: ['sh', '-c', 'trap "exit 9" TERM; while true; do sleep 0.1; done'],
      }),
    ]);
    plane.runTask(desired);
    const running = await plane.waitForTaskState(desired.taskArn, 'RUNNING');
    const containerId = running.task.containers[0].runtimeId!;

    await proxy.cut();
    await waitFor('the agent to notice the engine is gone', () =>
      logs.some((line) => line.includes('lost the container engine')),
    );
    await docker.getContainer(containerId).kill({ signal: 'SIGTERM' });
    await waitFor(
      'the container to exit',
      async () => !(await docker.getContainer(containerId).inspect()).State.Running,
    );
    expect(plane.reportsOf(desired.taskArn).map((r) => r.task.lastStatus)).not.toContain('STOPPED');
    await proxy.listen();

    const stopped = await plane.waitForTaskState(desired.taskArn, 'STOPPED', undefined, 30_000);
    expect(stopped.task.stopCode).toBe('EssentialContainerExited');
    expect(stopped.task.containers).toMatchObject([
      { runtimeId: containerId, lastStatus: 'STOPPED', exitCode: 9 },
    ]);
    expect(agent.connected()).toBe(true);
  });
});
