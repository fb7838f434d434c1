/**
 * A tiny control plane that speaks the agent protocol and nothing else, so agent tests can drive a
 * real agent frame by frame: it records every frame, welcomes each hello with a configurable desired
 * state, and lets a test send commands and wait for what the agent reports.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import Docker from 'dockerode';
import { type WebSocket, WebSocketServer } from 'ws';
import type { AgentFrame, ControlFrame, FrameOf } from '../../protocol/frames';
import { AGENT_CONNECT_PATH } from '../../protocol/link';
import { parseAgentFrame } from '../../protocol/parsing';
import type { TaskStatus } from '../../protocol/statuses';
import type { ContainerSpec, DesiredTask, ObservedTask } from '../../protocol/task-frames';

export type Hello = FrameOf<AgentFrame, 'hello'>;
export type TaskStateFrame = FrameOf<AgentFrame, 'taskState'>;
export type NackFrame = FrameOf<AgentFrame, 'nack'>;

export interface ReceivedFrame {
  /** Which connection (1 for the first) carried the frame. */
  connection: number;
  frame: AgentFrame;
  /** The frame as the agent sent it, byte for byte. */
  text: string;
}

export interface FakeControlPlaneOptions {
  cluster: string;
  joinToken: string;
  heartbeatIntervalMs?: number;
  /** What to answer a hello with; by default every task it was ever told to run or stop. */
  desiredTasks?: (hello: Hello) => DesiredTask[];
}

const docker = new Docker();

export const TEST_IMAGE = 'berth-test/busybox:latest';
/** Every container a test task creates carries this label, so tests can clean up after themselves. */
export const TEST_RUN_LABEL = 'com.berth.test-run';

const randomHex = (bytes: number) => randomBytes(bytes).toString('hex');
const brief = (frame: AgentFrame) => JSON.stringify(frame).slice(0, 300);

export function uniqueTaskArn(cluster: string): string {
  return `arn:aws:ecs:us-east-1:123456789012:task/${cluster}/${randomHex(16)}`;
}

export function buildContainer(overrides: Partial<ContainerSpec> & { name: string }): ContainerSpec {
  return {
    image: TEST_IMAGE,
    essential: true,
    environment: [],
    portMappings: [],
    dependsOn: [],
    memoryMiB: 32,
    stopTimeoutSeconds: 2,
    ...overrides,
  };
}

export function buildTask(
  cluster: string,
  testRun: string,
  containers: ContainerSpec[],
  overrides: Partial<DesiredTask> = {},
): DesiredTask {
  return {
    taskArn: uniqueTaskArn(cluster),
    generation: 1,
    desiredStatus: 'RUNNING',
    family: 'agent-test',
    revision: 1,
    networkMode: 'bridge',
    containers: containers.map((c) => ({
      ...c,
      dockerLabels: { ...c.dockerLabels, [TEST_RUN_LABEL]: testRun },
    })),
    ...overrides,
  };
}

/** Builds the test image with the project's script when it is missing (no registry is reachable). */
export async function ensureTestImage(): Promise<void> {
  const present = await docker
    .getImage(TEST_IMAGE)
    .inspect()
    .then(() => true)
    .catch(() => false);
  if (present) return;
  execFileSync('bash', [new URL('../../scripts/build-test-images.sh', import.meta.url).pathname], {
    stdio: 'inherit',
  });
}

/** Removes every container a test run created (found by TEST_RUN_LABEL). */
export async function removeTestContainers(testRun: string): Promise<void> {
  const containers = await docker.listContainers({
    all: true,
    filters: { label: [`${TEST_RUN_LABEL}=${testRun}`] },
  });
  await Promise.all(
    containers.map((c) =>
      docker
        .getContainer(c.Id)
        .remove({ force: true })
        .catch(() => undefined),
    ),
  );
}

export class FakeControlPlane {
  readonly frames: ReceivedFrame[] = [];
  readonly instanceId = randomHex(16);
  /** What the agent was told, by task ARN: answered in every welcome unless `desiredTasks` says otherwise. */
  readonly desired = new Map<string, DesiredTask>();
  /** Upgrade attempts, including refused ones. */
  upgradeAttempts = 0;
  /** While set, upgrades are refused with this HTTP status. */
  refuseWithStatus: number | undefined;
  /** Frames on these connections get no answer (no welcome, no pong): a control plane gone silent. */
  readonly silentConnections = new Set<number>();
  /** What to answer a hello with; by default every task the agent was told to run or stop. */
  welcomeTasks: ((hello: Hello) => DesiredTask[]) | undefined;
  private connectionCount = 0;
  private current: WebSocket | undefined;
  private readonly listeners = new Set<() => void>();

  private constructor(
    private readonly options: FakeControlPlaneOptions,
    private readonly server: ReturnType<typeof createServer>,
    private readonly sockets: WebSocketServer,
    readonly url: string,
  ) {
    this.welcomeTasks = options.desiredTasks;
  }

  static async start(options: FakeControlPlaneOptions): Promise<FakeControlPlane> {
    const server = createServer((_request, response) => response.writeHead(404).end());
    const sockets = new WebSocketServer({ noServer: true });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const plane = new FakeControlPlane(options, server, sockets, `http://127.0.0.1:${port}`);
    server.on('upgrade', (request, socket, head) => {
      plane.upgradeAttempts++;
      const status = plane.refusal(request);
      if (status) {
        socket.end(`HTTP/1.1 ${status} Refused\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
        return;
      }
      sockets.handleUpgrade(request, socket, head, (ws) => plane.attach(ws));
    });
    return plane;
  }

  private refusal(request: IncomingMessage): number | undefined {
    if (this.refuseWithStatus) return this.refuseWithStatus;
    const url = new URL(request.url ?? '/', 'http://localhost');
    if (url.pathname !== AGENT_CONNECT_PATH || url.searchParams.get('cluster') !== this.options.cluster)
      return 404;
    if (request.headers.authorization !== `Bearer ${this.options.joinToken}`) return 401;
    return undefined;
  }

  private attach(ws: WebSocket): void {
    const connection = ++this.connectionCount;
    this.current = ws;
    ws.on('message', (data) => {
      const text = data.toString();
      const frame = parseAgentFrame(text);
      this.frames.push({ connection, frame, text });
      for (const listener of [...this.listeners]) listener();
      if (this.silentConnections.has(connection)) return;
      if (frame.type === 'hello') this.welcome(ws, frame);
      if (frame.type === 'ping') ws.send(JSON.stringify({ type: 'pong', sentAtMs: frame.sentAtMs }));
    });
    ws.on('close', () => {
      if (this.current === ws) this.current = undefined;
    });
  }

  private welcome(ws: WebSocket, hello: Hello): void {
    const desiredTasks = this.welcomeTasks?.(hello) ?? [...this.desired.values()];
    this.sendOn(ws, {
      type: 'welcome',
      containerInstanceArn: `arn:aws:ecs:us-east-1:123456789012:container-instance/${this.options.cluster}/${this.instanceId}`,
      instanceId: this.instanceId,
      heartbeatIntervalMs: this.options.heartbeatIntervalMs ?? 1_000,
      desiredTasks,
    });
  }

  get connections(): number {
    return this.connectionCount;
  }

  private sendOn(ws: WebSocket, frame: ControlFrame): void {
    ws.send(JSON.stringify(frame));
  }

  /** Sends a frame on the newest connection. */
  send(frame: ControlFrame): void {
    if (!this.current) throw new Error('no agent is connected to the fake control plane');
    this.sendOn(this.current, frame);
  }

  /** Sends runTask and returns its messageId. */
  runTask(task: DesiredTask, messageId = randomHex(8)): string {
    this.desired.set(task.taskArn, task);
    this.send({ type: 'runTask', messageId, task });
    return messageId;
  }

  stopTask(taskArn: string, generation: number, reason = 'Task stopped by test'): string {
    const messageId = randomHex(8);
    const task = this.desired.get(taskArn);
    if (task)
      this.desired.set(taskArn, { ...task, generation, desiredStatus: 'STOPPED', stoppedReason: reason });
    this.send({ type: 'stopTask', messageId, taskArn, generation, reason });
    return messageId;
  }

  /** Closes the newest connection from the control plane's side. */
  disconnect(code = 1001, reason = 'test disconnect'): void {
    this.current?.close(code, reason);
  }

  /** Waits for a frame (already received or still to come) that matches; fails with every frame it saw. */
  waitForFrame<T extends AgentFrame>(
    description: string,
    predicate: (frame: AgentFrame, received: ReceivedFrame) => frame is T,
    timeoutMs?: number,
  ): Promise<T>;
  waitForFrame(
    description: string,
    predicate: (frame: AgentFrame, received: ReceivedFrame) => boolean,
    timeoutMs?: number,
  ): Promise<AgentFrame>;
  waitForFrame(
    description: string,
    predicate: (frame: AgentFrame, received: ReceivedFrame) => boolean,
    timeoutMs = 20_000,
  ): Promise<AgentFrame> {
    return new Promise((resolve, reject) => {
      let checked = 0;
      const check = () => {
        for (; checked < this.frames.length; checked++) {
          const received = this.frames[checked];
          if (predicate(received.frame, received)) {
            done();
            resolve(received.frame);
            return;
          }
        }
      };
      const timer = setTimeout(() => {
        done();
        const seen = this.frames.map((r) => `  #${r.connection} ${brief(r.frame)}`).join('\n');
        reject(
          new Error(`timed out after ${timeoutMs} ms waiting for ${description}; frames seen:\n${seen}`),
        );
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        this.listeners.delete(check);
      };
      this.listeners.add(check);
      check();
    });
  }

  /** Waits for a hello on a connection after `afterConnection`. */
  waitForHello(afterConnection = 0, timeoutMs?: number): Promise<Hello> {
    return this.waitForFrame(
      `a hello on a connection after #${afterConnection}`,
      (frame, received): frame is Hello => frame.type === 'hello' && received.connection > afterConnection,
      timeoutMs,
    );
  }

  /** Waits for a report of the task in the given status (and, optionally, more). */
  async waitForTaskState(
    taskArn: string,
    status: TaskStatus,
    matches: (task: ObservedTask) => boolean = () => true,
    timeoutMs?: number,
  ): Promise<TaskStateFrame> {
    return this.waitForFrame(
      `a taskState of ${taskArn} with lastStatus ${status}`,
      (frame): frame is TaskStateFrame =>
        frame.type === 'taskState' &&
        frame.task.taskArn === taskArn &&
        frame.task.lastStatus === status &&
        matches(frame.task),
      timeoutMs,
    );
  }

  reportsOf(taskArn: string): TaskStateFrame[] {
    return this.frames
      .map((r) => r.frame)
      .filter((f): f is TaskStateFrame => f.type === 'taskState' && f.task.taskArn === taskArn);
  }

  acksOf(messageId: string): number {
    return this.frames.filter((r) => r.frame.type === 'ack' && r.frame.messageId === messageId).length;
  }

  nacksOf(messageId: string): NackFrame[] {
    return this.frames
      .map((r) => r.frame)
      .filter((f): f is NackFrame => f.type === 'nack' && f.messageId === messageId);
  }

  async close(): Promise<void> {
    for (const client of this.sockets.clients) client.terminate();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
