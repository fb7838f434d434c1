/**
 * The control plane's side of the agent socket, driven by a hand-written agent: duplicate and late
 * messages change nothing, and bad frames close only the connection that sent them.
 */
import {
  CreateClusterCommand,
  DescribeContainerInstancesCommand,
  DescribeTasksCommand,
  RegisterTaskDefinitionCommand,
  RunTaskCommand,
  StartTaskCommand,
  StopTaskCommand,
} from '@aws-sdk/client-ecs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLOSE_CODES, KEEPALIVE_PING, KEEPALIVE_PONG, MAX_FRAME_BYTES } from '../../protocol/link';
import type { ObservedTask } from '../../protocol/task-frames';
import { connectRawAgent, helloFrame, type RawAgent } from '../helpers/raw-agent';
import { nodeRuntime, type RunningRuntime } from '../helpers/runtimes';
import { waitFor } from '../helpers/wait';

const CLUSTER = 'raw';

describe('the agent socket of the control plane', () => {
  let runtime: RunningRuntime;
  let token: string;
  let agent: RawAgent;
  let instanceId: string;
  let credential: string;

  beforeAll(async () => {
    runtime = await nodeRuntime.start();
    await runtime.ecs.send(new CreateClusterCommand({ clusterName: CLUSTER }));
    token = await runtime.mintJoinToken(CLUSTER);
    agent = await connectRawAgent(runtime.endpoint, CLUSTER, token);
    agent.send(helloFrame());
    const welcome = await agent.waitForFrame('welcome');
    instanceId = welcome.instanceId;
    credential = welcome.instanceCredential!;
    await runtime.ecs.send(
      new RegisterTaskDefinitionCommand({
        family: 'raw',
        containerDefinitions: [{ name: 'main', image: 'busybox', memory: 16 }],
      }),
    );
  });

  afterAll(async () => {
    agent?.close();
    await runtime?.close();
  });

  const report = (task: ObservedTask, seq: number) => agent.send({ type: 'taskState', seq, task });
  const observed = (
    taskArn: string,
    lastStatus: ObservedTask['lastStatus'],
    exitCode?: number,
  ): ObservedTask => ({
    taskArn,
    generation: 1,
    lastStatus,
    containers: [
      {
        name: 'main',
        lastStatus: lastStatus === 'STOPPED' ? 'STOPPED' : lastStatus === 'RUNNING' ? 'RUNNING' : 'PENDING',
        exitCode,
      },
    ],
  });
  const describeTask = async (arn: string) =>
    (await runtime.ecs.send(new DescribeTasksCommand({ cluster: CLUSTER, tasks: [arn] }))).tasks![0];

  it('sends a run command with a message id and generation 1', async () => {
    const out = await runtime.ecs.send(new RunTaskCommand({ cluster: CLUSTER, taskDefinition: 'raw' }));
    const arn = out.tasks![0].taskArn!;
    const command = await agent.waitForFrame('runTask', (f) => f.task.taskArn === arn);
    expect(command.messageId).toMatch(/^[0-9a-f]{32}$/);
    expect(command.task.generation).toBe(1);
    expect(command.task.containers[0].memoryMiB).toBe(16);
  });

  it('ignores a RUNNING report replayed after STOPPED, and a repeated report', async () => {
    const out = await runtime.ecs.send(new RunTaskCommand({ cluster: CLUSTER, taskDefinition: 'raw' }));
    const arn = out.tasks![0].taskArn!;
    report(observed(arn, 'RUNNING'), 1);
    await waitFor('RUNNING', async () => (await describeTask(arn)).lastStatus === 'RUNNING');
    report(observed(arn, 'STOPPED', 7), 2);
    await waitFor('STOPPED', async () => (await describeTask(arn)).lastStatus === 'STOPPED');
    const stopped = await describeTask(arn);
    report(observed(arn, 'RUNNING'), 1); // the old report, delivered late
    report(observed(arn, 'RUNNING'), 3); // a newer seq cannot move the status backwards either
    report(observed(arn, 'STOPPED', 7), 2); // a duplicate
    // A marker report on another task proves the three frames above were processed.
    const marker = await runtime.ecs.send(new RunTaskCommand({ cluster: CLUSTER, taskDefinition: 'raw' }));
    const markerArn = marker.tasks![0].taskArn!;
    report(observed(markerArn, 'RUNNING'), 1);
    await waitFor('the marker', async () => (await describeTask(markerArn)).lastStatus === 'RUNNING');
    const after = await describeTask(arn);
    expect(after.lastStatus).toBe('STOPPED');
    expect(after.containers![0].exitCode).toBe(7);
    expect(after.version).toBe(stopped.version);
  });

  it('sends one stop command for a task stopped twice, with a newer generation', async () => {
    const out = await runtime.ecs.send(new RunTaskCommand({ cluster: CLUSTER, taskDefinition: 'raw' }));
    const arn = out.tasks![0].taskArn!;
    await runtime.ecs.send(new StopTaskCommand({ cluster: CLUSTER, task: arn }));
    await runtime.ecs.send(new StopTaskCommand({ cluster: CLUSTER, task: arn }));
    const stop = await agent.waitForFrame('stopTask', (f) => f.taskArn === arn);
    expect(stop.generation).toBe(2);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(agent.received.filter((f) => f.type === 'stopTask' && f.taskArn === arn)).toHaveLength(1);
  });

  it('answers a ping with a pong carrying the same timestamp', async () => {
    agent.send({ type: 'ping', sentAtMs: 12345 });
    await agent.waitForFrame('pong', (f) => f.sentAtMs === 12345);
  });

  it('answers the keepalive ping with the keepalive pong, byte for byte, as the Workers runtime does', async () => {
    const before = agent.receivedText.length;
    agent.send(KEEPALIVE_PING);
    await waitFor('the keepalive pong', () => agent.receivedText.slice(before).includes(KEEPALIVE_PONG));
  });

  it('takes a nack and keeps the link open', async () => {
    agent.send({
      type: 'nack',
      messageId: 'not-a-command-it-sent',
      error: { name: 'StateFileWriteFailed', retryable: true, message: 'disk full' },
    });
    agent.send({ type: 'ping', sentAtMs: 4242 });
    await agent.waitForFrame('pong', (f) => f.sentAtMs === 4242);
  });

  it('closes a connection that sends malformed, unknown, binary or oversized frames, and keeps serving others', async () => {
    const cases: [string | Buffer, number][] = [
      ['{this is not json', CLOSE_CODES.protocolError],
      ['{"type":"launchMissiles"}', CLOSE_CODES.protocolError],
      [Buffer.from([0, 1, 2]), CLOSE_CODES.unsupportedData],
      [`{"type":"ping","pad":"${'x'.repeat(MAX_FRAME_BYTES)}"}`, CLOSE_CODES.frameTooLarge],
    ];
    for (const [frame, code] of cases) {
      const bad = await connectRawAgent(runtime.endpoint, CLUSTER, token);
      bad.send(frame);
      expect((await bad.closed).code).toBe(code);
    }
    agent.send({ type: 'ping', sentAtMs: 999 });
    await agent.waitForFrame('pong', (f) => f.sentAtMs === 999);
    const described = await runtime.ecs.send(
      new DescribeContainerInstancesCommand({ cluster: CLUSTER, containerInstances: [instanceId] }),
    );
    expect(described.containerInstances![0].agentConnected).toBe(true);
  });

  it('refuses a second hello on the same connection', async () => {
    const other = await connectRawAgent(runtime.endpoint, CLUSTER, token);
    other.send(helloFrame({ hostname: 'other' }));
    await other.waitForFrame('welcome');
    other.send(helloFrame({ hostname: 'other' }));
    expect((await other.closed).code).toBe(CLOSE_CODES.protocolError);
  });

  it('refuses a connection with a wrong join token', async () => {
    await expect(connectRawAgent(runtime.endpoint, CLUSTER, 'berth_jt_wrong')).rejects.toThrow(/401/);
  });

  it('gives a reconnecting instance its identity back and its desired tasks in the welcome', async () => {
    const out = await runtime.ecs.send(
      new StartTaskCommand({ cluster: CLUSTER, taskDefinition: 'raw', containerInstances: [instanceId] }),
    );
    const arn = out.tasks![0].taskArn!;
    agent.close();
    agent = await connectRawAgent(runtime.endpoint, CLUSTER, credential);
    agent.send(helloFrame({ instanceId }));
    const welcome = await agent.waitForFrame('welcome');
    expect(welcome.instanceId).toBe(instanceId);
    expect(welcome.desiredTasks.map((t) => t.taskArn)).toContain(arn);
  });
});
