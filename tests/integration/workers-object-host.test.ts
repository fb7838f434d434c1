/**
 * The body of a cluster's Durable Object against a real libSQL file, with the runtime's sockets and
 * storage played by small fakes. A wake-up from hibernation is a new host over the same sockets and
 * storage, which is exactly what the runtime does: so these tests show the object keeps nothing
 * about its agents outside the sockets' attachments and its storage.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eq } from 'drizzle-orm';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type OpenDatabase, openDatabase } from '../../db/node-database';
import { containerInstances, joinTokens, tasks } from '../../db/schema';
import {
  type AgentFrame,
  CLOSE_CODES,
  type ControlFrame,
  HEARTBEAT_INTERVAL_MS,
  PROTOCOL_VERSION,
  parseControlFrame,
  SILENT_INTERVALS_BEFORE_CUT,
} from '../../protocol/agent-protocol';
import type { AgentIdentity } from '../../worker/core/agents/agent-admission';
import type { CommandOutput } from '../../worker/core/cluster/commands';
import { createCluster } from '../../worker/core/clusters/clusters';
import { type CoreDeps, randomHexId } from '../../worker/core/deps';
import { EcsError } from '../../worker/core/errors';
import { registerTaskDefinition } from '../../worker/core/task-definitions/task-definitions';
import {
  CoordinatorObjectHost,
  type CoordinatorObjectStorage,
  type CoordinatorRpc,
  RESTART_WATCHDOG_MS,
} from '../../worker/hosts/workers/coordinator-object-host';
import { DurableCoordinators } from '../../worker/hosts/workers/durable-coordinators';
import type { HibernatableSocket } from '../../worker/hosts/workers/hibernating-agent-links';
import { configFromVars } from '../../worker/hosts/workers/workers-deps';

const CLUSTER = 'hosted';
const GRACE_MS = 5_000;

/** A hibernatable WebSocket: the attachment is structured-cloned in and out, as the runtime does. */
class FakeSocket implements HibernatableSocket {
  readonly sent: ControlFrame[] = [];
  closedWith: { code?: number; reason?: string } | undefined;
  private attachment: unknown = null;

  send(message: string): void {
    this.sent.push(parseControlFrame(message));
  }
  close(code?: number, reason?: string): void {
    this.closedWith = { code, reason };
  }
  serializeAttachment(value: unknown): void {
    this.attachment = structuredClone(value);
  }
  deserializeAttachment(): unknown {
    return structuredClone(this.attachment);
  }
  lastFrame(): ControlFrame | undefined {
    return this.sent.at(-1);
  }
}

/** A Durable Object's sockets (tagged with their link ids), its key-value storage and its alarm. */
class FakeObjectState implements CoordinatorObjectStorage {
  readonly open = new Map<string, FakeSocket>();
  readonly stored = new Map<string, unknown>();
  alarmAtMs: number | undefined;

  kv = {
    get: <T>(key: string) => this.stored.get(key) as T | undefined,
    put: <T>(key: string, value: T) => {
      this.stored.set(key, value);
    },
  };
  wakeAt = (whenMs: number) => {
    if (this.alarmAtMs === undefined || whenMs < this.alarmAtMs) this.alarmAtMs = whenMs;
  };
  sockets = (tag?: string) =>
    tag ? [this.open.get(tag)].filter((s) => s !== undefined) : [...this.open.values()];
  /** What a deploy or crash does: every socket gone, no close event, storage and alarm kept. */
  dropSocketsUnannounced() {
    this.open.clear();
  }
}

const helloFrom = (instanceId?: string): AgentFrame => ({
  type: 'hello',
  protocolVersion: PROTOCOL_VERSION,
  agentVersion: '0.1.0',
  instanceId,
  hostname: 'host-a',
  resources: { cpu: 2048, memoryMiB: 4096 },
  attributes: [],
  dockerVersion: '26.1.5',
  tasks: [],
});

describe('the cluster Durable Object host', () => {
  let dataDir: string;
  let database: OpenDatabase;
  let deps: CoreDeps;
  let clockMs: number;
  let state: FakeObjectState;
  let taskDefinitionArn: string;

  const wake = () =>
    new CoordinatorObjectHost({ deps, sockets: state.sockets, storage: state, log: () => {} });

  function accept(host: CoordinatorObjectHost<FakeSocket>, identity: AgentIdentity): FakeSocket {
    const socket = new FakeSocket();
    const linkId = `link-${randomHexId()}`;
    state.open.set(linkId, socket);
    host.agentAccepted(socket, { linkId, clusterName: CLUSTER, identity });
    return socket;
  }

  /** A new host (join token) or, given its ARN, an instance that proved its credential at admission. */
  async function connectAgent(host: CoordinatorObjectHost<FakeSocket>, instanceArn?: string) {
    const identity: AgentIdentity = instanceArn
      ? { kind: 'instance', instanceArn }
      : { kind: 'joinToken', tokenSha256: 'test-token' };
    const socket = accept(host, identity);
    await host.agentMessage(socket, JSON.stringify(helloFrom(instanceArn?.split('/').pop())));
    const welcome = socket.lastFrame();
    if (welcome?.type !== 'welcome') throw new Error(`expected a welcome, got ${JSON.stringify(welcome)}`);
    return { socket, welcome };
  }

  /** RunTask over the object's one RPC method, with the output typed as RunTask's. */
  async function runTaskThrough(host: CoordinatorObjectHost<FakeSocket>) {
    const outcome = await host.call(CLUSTER, 'execute', [
      'runTask',
      { cluster: CLUSTER, taskDefinition: taskDefinitionArn },
    ]);
    return outcome.ok ? { ...outcome, value: outcome.value as CommandOutput<'runTask'> } : outcome;
  }

  async function instanceRow(arn: string) {
    const [row] = await deps.db.select().from(containerInstances).where(eq(containerInstances.arn, arn));
    return row;
  }

  beforeEach(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'berth-object-host-'));
    database = await openDatabase({ dataDir });
    clockMs = Date.now();
    deps = {
      db: database.db,
      config: { ...configFromVars({ LIBSQL_URL: '' }), agentDisconnectGraceMs: GRACE_MS },
      now: () => clockMs,
      newId: randomHexId,
    };
    state = new FakeObjectState();
    await createCluster(deps, { clusterName: CLUSTER });
    // The join token the tests' new hosts present (admission is not part of this host; registration
    // takes a use of the token, so it must exist).
    await deps.db
      .insert(joinTokens)
      .values({ tokenSha256: 'test-token', clusterName: CLUSTER, createdAtMs: clockMs });
    const registered = await registerTaskDefinition(deps, {
      family: 'sleeper',
      containerDefinitions: [{ name: 'main', image: 'busybox', memory: 32, command: ['sleep', '600'] }],
    });
    taskDefinitionArn = registered.taskDefinition.taskDefinitionArn;
  });

  afterEach(() => {
    database.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('sends RunTask to the right socket after a wake-up, knowing the agent only from its attachment', async () => {
    const { socket, welcome } = await connectAgent(wake());

    const woken = wake();
    const outcome = await runTaskThrough(woken);

    if (!outcome.ok) throw new Error(`RunTask failed: ${outcome.message}`);
    const [task] = outcome.value.tasks;
    expect(task.containerInstanceArn).toBe(welcome.containerInstanceArn);
    const sent = socket.lastFrame();
    expect(sent?.type === 'runTask' && sent.task.taskArn).toBe(task.taskArn);
  });

  it('accepts a task report that wakes the object, because the socket still names its instance', async () => {
    const { socket } = await connectAgent(wake());
    const outcome = await runTaskThrough(wake());
    if (!outcome.ok) throw new Error(outcome.message);
    const taskArn = outcome.value.tasks[0].taskArn!;

    const report: AgentFrame = {
      type: 'taskState',
      seq: 0,
      task: {
        taskArn,
        generation: 1,
        lastStatus: 'RUNNING',
        containers: [{ name: 'main', lastStatus: 'RUNNING', runtimeId: 'container-1' }],
        startedAtMs: clockMs,
      },
    };
    await wake().agentMessage(socket, JSON.stringify(report));

    const [row] = await deps.db.select().from(tasks).where(eq(tasks.arn, taskArn));
    expect(row.lastStatus).toBe('RUNNING');
  });

  it('hands a reconnecting instance to its new socket and closes the old one, in the attachments too', async () => {
    const first = await connectAgent(wake());
    const second = await connectAgent(wake(), first.welcome.containerInstanceArn);

    expect(second.welcome.containerInstanceArn).toBe(first.welcome.containerInstanceArn);
    expect(first.socket.closedWith?.code).toBe(CLOSE_CODES.replacedByNewConnection);
    const outcome = await runTaskThrough(wake());
    if (!outcome.ok) throw new Error(outcome.message);
    expect(second.socket.lastFrame()?.type).toBe('runTask');
    expect(first.socket.sent.some((frame) => frame.type === 'runTask')).toBe(false);
  });

  it('keeps a restart watchdog alarm while agents are connected', async () => {
    const host = wake();
    await connectAgent(host);
    expect(state.alarmAtMs).toBe(clockMs + RESTART_WATCHDOG_MS);

    state.alarmAtMs = undefined;
    clockMs += RESTART_WATCHDOG_MS;
    await wake().alarm();
    expect(state.alarmAtMs).toBe(clockMs + RESTART_WATCHDOG_MS);
  });

  it('marks an agent disconnected by alarm once the grace period after its socket closed has passed', async () => {
    const { socket, welcome } = await connectAgent(wake());

    await wake().agentClosed(socket);
    state.open.clear();
    expect(state.alarmAtMs).toBe(clockMs + GRACE_MS);
    expect((await instanceRow(welcome.containerInstanceArn)).agentConnected).toBe(true);

    clockMs += GRACE_MS;
    await wake().alarm();
    expect((await instanceRow(welcome.containerInstanceArn)).agentConnected).toBe(false);
  });

  it('closes a socket whose keepalives stopped (a host gone behind its NAT) and starts its grace', async () => {
    const keepalives = new Map<FakeSocket, number>();
    const watching = () =>
      new CoordinatorObjectHost({
        deps,
        sockets: state.sockets,
        storage: state,
        log: () => {},
        lastKeepaliveAtMs: (socket) => keepalives.get(socket),
      });
    const quiet = await connectAgent(watching());
    const alive = await connectAgent(watching());
    const silenceMs = SILENT_INTERVALS_BEFORE_CUT * HEARTBEAT_INTERVAL_MS;
    keepalives.set(quiet.socket, clockMs);
    clockMs += silenceMs + 1;
    keepalives.set(alive.socket, clockMs);

    await watching().alarm();

    expect(quiet.socket.closedWith?.code).toBe(CLOSE_CODES.heartbeatTimeout);
    expect(alive.socket.closedWith).toBeUndefined();
    state.open.delete([...state.open].find(([, socket]) => socket === quiet.socket)![0]);
    clockMs += GRACE_MS;
    await watching().alarm();
    expect((await instanceRow(quiet.welcome.containerInstanceArn)).agentConnected).toBe(false);
    expect((await instanceRow(alive.welcome.containerInstanceArn)).agentConnected).toBe(true);
  });

  it('does not push the deadline back when every alarm finds a freshly started object', async () => {
    const { socket, welcome } = await connectAgent(wake());
    await wake().agentClosed(socket);
    state.open.clear();

    clockMs += GRACE_MS / 2;
    await wake().alarm();
    expect((await instanceRow(welcome.containerInstanceArn)).agentConnected).toBe(true);
    clockMs += GRACE_MS / 2;
    await wake().alarm();
    expect((await instanceRow(welcome.containerInstanceArn)).agentConnected).toBe(false);
  });

  it('gives agents whose sockets a restart dropped a grace period from the restart, then marks them', async () => {
    const { welcome } = await connectAgent(wake());
    clockMs += 10 * GRACE_MS;
    state.dropSocketsUnannounced();
    state.alarmAtMs = undefined;

    const restarted = wake();
    await restarted.started();
    expect(state.alarmAtMs).toBe(clockMs + GRACE_MS);
    expect((await instanceRow(welcome.containerInstanceArn)).agentConnected).toBe(true);

    clockMs += GRACE_MS;
    await wake().alarm();
    expect((await instanceRow(welcome.containerInstanceArn)).agentConnected).toBe(false);
  });

  it('carries ECS errors across the RPC boundary as data, and the directory throws them again', async () => {
    const host = wake();
    const outcome = await host.call(CLUSTER, 'execute', [
      'stopTask',
      { cluster: CLUSTER, task: 'no-such-task' },
    ]);
    expect(outcome).toEqual({
      ok: false,
      errorName: 'InvalidParameterException',
      message: 'task: The referenced task was not found.',
    });

    const rpc = new Proxy({} as CoordinatorRpc, {
      get:
        (_target, method: keyof CoordinatorRpc) =>
        (cluster: string, ...args: never[]) =>
          host.call(cluster, method, args as never),
    });
    const coordinators = new DurableCoordinators(deps, () => rpc);
    const error = await coordinators
      .forCluster(CLUSTER)
      .execute('stopTask', { task: 'no-such-task' })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EcsError);
    expect((error as EcsError).errorName).toBe('InvalidParameterException');
  });

  it('refuses to serve a cluster other than the one it was created for', async () => {
    const host = wake();
    await host.call(CLUSTER, 'execute', ['stopTask', { task: 'x' }]);
    await expect(host.call('another', 'execute', ['stopTask', { task: 'x' }])).rejects.toThrow(
      /routing|asked about another/,
    );
  });
});
