/**
 * The agent's link to the control plane: reconnecting, heartbeats, a rejected join token, and a
 * command it cannot accept. The runtime is simulated: the link, not Docker, is under test here.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type RunningAgent, startAgent } from '../../agent';
import type { AgentTasks } from '../../agent/handlers';
import { ControlPlaneLink } from '../../agent/link/control-plane-link';
import { agentSocketUrl } from '../../agent/options';
import { SimulatedRuntime } from '../../agent/runtime/simulated-runtime';
import { AGENT_CONNECT_PATH, KEEPALIVE_PING, PROTOCOL_VERSION } from '../../protocol/link';
import { buildContainer, buildTask, FakeControlPlane } from '../helpers/fake-control-plane';
import { waitFor } from '../helpers/wait';

const JOIN_TOKEN = 'agent-link-token';
const cleanups: (() => Promise<void> | void)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function setUp(options: { heartbeatIntervalMs?: number; refuseWithStatus?: number } = {}) {
  const cluster = `agent-link-${randomBytes(4).toString('hex')}`;
  const plane = await FakeControlPlane.start({
    cluster,
    joinToken: JOIN_TOKEN,
    heartbeatIntervalMs: options.heartbeatIntervalMs,
  });
  plane.refuseWithStatus = options.refuseWithStatus;
  cleanups.push(() => plane.close());
  const stateDir = mkdtempSync(join(tmpdir(), 'berth-agent-link-'));
  const runtime = new SimulatedRuntime();
  cleanups.push(() => rmSync(stateDir, { recursive: true, force: true }));
  const logs: string[] = [];
  const agent: RunningAgent = await startAgent({
    endpoint: plane.url,
    cluster,
    joinToken: JOIN_TOKEN,
    attributes: [],
    stateDir,
    runtime,
    log: (line) => logs.push(line),
  });
  cleanups.push(() => agent.stop());
  return { plane, agent, logs, stateDir, runtime, cluster };
}

describe('the link to the control plane', () => {
  it('reconnects when the control plane closes the link, saying hello with the instance id it was given', async () => {
    const { plane, agent } = await setUp();
    const first = await plane.waitForHello();
    expect(first.instanceId).toBeUndefined();
    await waitFor('the welcome', () => agent.connected());

    plane.disconnect(1012, 'control plane restarting');
    const second = await plane.waitForHello(1);
    expect(second.instanceId).toBe(plane.instanceId);
    await waitFor('the agent to be welcomed again', () => agent.connected());
  });

  it('answers pings, and sends the keepalive at the interval the welcome names', async () => {
    const { plane, agent } = await setUp({ heartbeatIntervalMs: 200 });
    await plane.waitForHello();
    await waitFor('the welcome', () => agent.connected());
    plane.send({ type: 'ping', sentAtMs: 42 });
    await plane.waitForFrame('the pong', (f) => f.type === 'pong' && f.sentAtMs === 42);
    const pings = () => plane.frames.filter((r) => r.frame.type === 'ping');
    await plane.waitForFrame('three pings from the agent', () => pings().length >= 3, 3_000);
    // Exactly the string a Workers host answers without waking the cluster's Durable Object.
    expect(pings().map((r) => r.text)).toEqual(pings().map(() => KEEPALIVE_PING));
  });

  it('declares a silent control plane dead after three missed heartbeats and reconnects', async () => {
    const { plane, agent, logs } = await setUp({ heartbeatIntervalMs: 200 });
    await plane.waitForHello();
    await waitFor('the welcome', () => agent.connected());
    plane.silentConnections.add(1);
    const framesBeforeSilence = plane.frames.length;

    await plane.waitForHello(1, 5_000);
    // It kept pinging into the silence for (about) three intervals before giving up on the link.
    const unansweredPings = plane.frames
      .slice(framesBeforeSilence)
      .filter((r) => r.connection === 1 && r.frame.type === 'ping').length;
    expect(unansweredPings).toBeGreaterThanOrEqual(2);
    expect(logs.some((line) => line.includes('silent'))).toBe(true);
    await waitFor('the agent to be welcomed on the new link', () => agent.connected());
  });

  it('keeps retrying after its join token is rejected, and connects once it is accepted', async () => {
    const { plane, agent, logs } = await setUp({ refuseWithStatus: 401 });
    await waitFor('a clear log line about the token', () => logs.find((line) => line.includes('join token')));
    expect(agent.connected()).toBe(false);

    plane.refuseWithStatus = undefined;
    await plane.waitForHello(0, 15_000);
    await waitFor('the welcome', () => agent.connected());
    expect(plane.upgradeAttempts).toBeGreaterThanOrEqual(2);
  });

  it('answers a command it cannot record with a nack, and acknowledges and runs the resend once it can', async () => {
    const { plane, agent, stateDir, runtime, cluster } = await setUp();
    await plane.waitForHello();
    await waitFor('the welcome', () => agent.connected());
    // With its state dir gone the agent cannot record anything, so it must not say it did.
    rmSync(stateDir, { recursive: true, force: true });
    const task = buildTask(cluster, 'link', [buildContainer({ name: 'main' })]);
    const messageId = plane.runTask(task);
    const [nack] = await waitFor(
      'the nack',
      () => plane.nacksOf(messageId).length > 0 && plane.nacksOf(messageId),
    );
    expect(nack.error).toMatchObject({ name: 'StateFileWriteFailed', retryable: true });
    expect(plane.acksOf(messageId)).toBe(0);

    mkdirSync(stateDir);
    plane.runTask(task, messageId);
    await waitFor('the ack of the resend', () => plane.acksOf(messageId) === 1);
    await plane.waitForTaskState(task.taskArn, 'RUNNING');
    expect(runtime.runningCount()).toBe(1);
  });

  it('takes every command of a burst before the first is recorded, and acknowledges each once it is', async () => {
    const cluster = `agent-link-${randomBytes(4).toString('hex')}`;
    const plane = await FakeControlPlane.start({ cluster, joinToken: JOIN_TOKEN });
    cleanups.push(() => plane.close());
    // Tasks whose records complete only when the test says so: a state file that is slow to write.
    const taken: string[] = [];
    const recorded = new Map<string, () => void>();
    const tasks: AgentTasks = {
      reconcile: async () => {},
      runTask: (command) => {
        taken.push(command.messageId);
        return new Promise<void>((resolve) => recorded.set(command.messageId, resolve));
      },
      stopTask: async () => {},
    };
    const link = new ControlPlaneLink(agentSocketUrl(plane.url, AGENT_CONNECT_PATH, cluster), {
      cluster,
      credential: () => JOIN_TOKEN,
      onIdentityGone: async () => {},
      hello: async () => ({
        type: 'hello',
        protocolVersion: PROTOCOL_VERSION,
        agentVersion: 'test',
        hostname: 'burst',
        resources: { cpu: 1024, memoryMiB: 1024 },
        attributes: [],
        dockerVersion: 'test',
        tasks: [],
      }),
      tasks,
      log: () => {},
    });
    link.start();
    cleanups.push(() => link.stop());
    await waitFor('the welcome', () => link.connected());

    const ids = [1, 2, 3].map(() =>
      plane.runTask(buildTask(cluster, 'burst', [buildContainer({ name: 'main' })])),
    );
    // Each command waits for its own record, but the next one is taken meanwhile (so they can share a write).
    await waitFor('all three commands taken', () => taken.length === 3);
    expect(taken).toEqual(ids);
    expect(ids.map((id) => plane.acksOf(id))).toEqual([0, 0, 0]);

    recorded.get(ids[1]!)!();
    await waitFor('the ack of the second', () => plane.acksOf(ids[1]!) === 1);
    expect(ids.map((id) => plane.acksOf(id))).toEqual([0, 1, 0]);
    recorded.get(ids[0]!)!();
    recorded.get(ids[2]!)!();
    await waitFor('every ack', () => ids.every((id) => plane.acksOf(id) === 1));
  });
});
