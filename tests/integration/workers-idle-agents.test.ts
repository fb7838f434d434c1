/**
 * A cluster of idle agents costs its Durable Object no wake-ups. The agent's heartbeat is the
 * protocol's fixed keepalive (KEEPALIVE_PING), which workerd answers by itself through the object's
 * WebSocket auto-response, without starting the object. What is measured, in real workerd:
 * - the object logs `cluster coordinator object started ...` on every start, a wake-up from
 *   hibernation included, so the starts logged while the agents idle are the wake-ups they cost;
 * - each agent's keepalives are answered all along: a tap on its TCP connection counts the
 *   KEEPALIVE_PONG frames coming back (server frames are not masked, so the text is on the wire);
 * - the object really slept: workerd evicts an idle object after about 10 s even with hibernatable
 *   sockets open (see workers-hibernation.test.ts), so the idle time spans that, and the RunTask
 *   that follows has to start the object again. A timestamped ping would have reached the object
 *   instead, kept it in memory, and this last start would never be logged.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RegisterTaskDefinitionCommand, RunTaskCommand } from '@aws-sdk/client-ecs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningAgent, startAgent } from '../../agent';
import { SimulatedRuntime } from '../../agent/runtime/simulated-runtime';
import { KEEPALIVE_PONG } from '../../protocol/link';
import { createCluster } from '../../worker/core/clusters/clusters';
import { waitFor } from '../helpers/wait';
import { type RunningWorkersRuntime, startWorkersRuntime } from '../helpers/workers-runtime';

const CLUSTER = 'idle';
const AGENTS = 3;
const HEARTBEAT_INTERVAL_MS = 1_000;
/** workerd evicts an idle object after about 10 s; this many answered keepalives spans that, with margin. */
const KEEPALIVES_WHILE_IDLE = 14;

/** The upgrade request without its offer of compression, so the frames that follow travel as plain text. */
const withoutCompressionOffer = (head: string) => head.replace(/\r\nSec-WebSocket-Extensions:[^\r]*/i, '');

/**
 * A TCP pass-through to the Worker that counts the keepalive pongs it carries back to the agent.
 * The agent's WebSocket client offers permessage-deflate and workerd accepts it, which would hide
 * the text; the tap drops the offer from the upgrade request (the object sees the same frames
 * either way). A pong split across two chunks is still counted once: each chunk's end is kept.
 */
async function keepaliveTap(targetPort: number) {
  const pattern = Buffer.from(KEEPALIVE_PONG);
  let pongs = 0;
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = createConnection({ host: '127.0.0.1', port: targetPort });
    sockets.add(client).add(upstream);
    let tail = Buffer.alloc(0);
    let head: string | undefined = '';
    client.on('data', (chunk) => {
      if (head === undefined) return void upstream.write(chunk);
      head += chunk.toString('latin1');
      const end = head.indexOf('\r\n\r\n');
      if (end === -1) return;
      upstream.write(Buffer.from(withoutCompressionOffer(head.slice(0, end)) + head.slice(end), 'latin1'));
      head = undefined;
    });
    upstream.on('data', (chunk) => {
      client.write(chunk);
      const seen = Buffer.concat([tail, chunk]);
      for (let at = seen.indexOf(pattern); at !== -1; at = seen.indexOf(pattern, at + pattern.length))
        pongs++;
      tail = seen.subarray(Math.max(0, seen.length - pattern.length + 1));
    });
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    for (const socket of [client, upstream]) {
      socket.on('close', end);
      socket.on('error', end);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const address = server.address();
  return {
    url: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`,
    pongs: () => pongs,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

describe('a cluster of idle agents on Workers', () => {
  let runtime: RunningWorkersRuntime;
  const taps: Awaited<ReturnType<typeof keepaliveTap>>[] = [];
  const agents: RunningAgent[] = [];
  const stateDirs: string[] = [];

  const objectStarts = () =>
    runtime.workerLog().filter((line) => line.includes('cluster coordinator object started')).length;
  const agentConnections = () =>
    runtime.workerLog().filter((line) => line.includes(`connected to ${CLUSTER}`)).length;

  beforeAll(async () => {
    runtime = await startWorkersRuntime({ BERTH_HEARTBEAT_INTERVAL_MS: String(HEARTBEAT_INTERVAL_MS) });
    await createCluster(runtime.plane.deps, { clusterName: CLUSTER });
    await runtime.ecs.send(
      new RegisterTaskDefinitionCommand({
        family: 'wake-up',
        containerDefinitions: [{ name: 'main', image: 'berth-test/busybox:latest', memory: 32 }],
      }),
    );
    const joinToken = await runtime.mintJoinToken(CLUSTER);
    for (let n = 0; n < AGENTS; n++) {
      const tap = await keepaliveTap(runtime.plane.port);
      taps.push(tap);
      const stateDir = mkdtempSync(join(tmpdir(), 'berth-idle-agent-'));
      stateDirs.push(stateDir);
      agents.push(
        await startAgent({
          endpoint: tap.url,
          cluster: CLUSTER,
          joinToken,
          attributes: [],
          stateDir,
          runtime: new SimulatedRuntime(),
          log: () => {},
        }),
      );
    }
    await waitFor('every agent to be welcomed', () => agents.every((agent) => agent.connected()), 30_000);
  });

  afterAll(async () => {
    for (const agent of agents) await agent.stop();
    for (const tap of taps) await tap.close();
    await runtime?.close();
    for (const dir of stateDirs) rmSync(dir, { recursive: true, force: true });
  });

  it(
    'costs the Durable Object no wake-ups: workerd answers every keepalive, and the object sleeps until a RunTask',
    async () => {
      const startsBefore = objectStarts();
      const connectionsBefore = agentConnections();
      const pongsBefore = taps.map((tap) => tap.pongs());

      // The idle time is what is under test; it ends when every agent has had its keepalives answered.
      await waitFor(
        `${KEEPALIVES_WHILE_IDLE} answered keepalives per agent`,
        () => taps.every((tap, n) => tap.pongs() - pongsBefore[n] >= KEEPALIVES_WHILE_IDLE),
        KEEPALIVES_WHILE_IDLE * HEARTBEAT_INTERVAL_MS + 15_000,
      );
      const wakeUpsWhileIdle = objectStarts() - startsBefore;
      expect(wakeUpsWhileIdle).toBe(0);
      // No link was cut and redialled for silence: every agent is still on its first connection.
      expect(agentConnections()).toBe(connectionsBefore);
      expect(agents.every((agent) => agent.connected())).toBe(true);

      // The object was evicted, not kept warm: the first event after the idle time starts it again.
      const run = await runtime.ecs.send(new RunTaskCommand({ cluster: CLUSTER, taskDefinition: 'wake-up' }));
      expect(run.failures).toEqual([]);
      await waitFor('the object to start for the RunTask', () => objectStarts() === startsBefore + 1);
    },
    KEEPALIVES_WHILE_IDLE * HEARTBEAT_INTERVAL_MS + 60_000,
  );
});
