/**
 * Who may open an agent socket on the Workers runtime: the Worker checks the cluster and the join
 * token before anything reaches the cluster's Durable Object, with the same answers as on Node.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AGENT_CONNECT_PATH } from '../../protocol/agent-protocol';
import { createCluster } from '../../worker/core/clusters/clusters';
import { connectRawAgent, helloFrame } from '../helpers/raw-agent';
import { type RunningWorkersRuntime, startWorkersRuntime } from '../helpers/workers-runtime';

describe('agent sockets on the Workers runtime', () => {
  let runtime: RunningWorkersRuntime;
  let tokenForBlue: string;

  beforeAll(async () => {
    runtime = await startWorkersRuntime();
    await createCluster(runtime.plane.deps, { clusterName: 'blue' });
    await createCluster(runtime.plane.deps, { clusterName: 'green' });
    tokenForBlue = await runtime.mintJoinToken('blue');
  });

  afterAll(async () => {
    await runtime?.close();
  });

  it('welcomes an agent with a valid join token for its cluster', async () => {
    const agent = await connectRawAgent(runtime.endpoint, 'blue', tokenForBlue);
    agent.send(helloFrame());
    const welcome = await agent.waitForFrame('welcome');
    expect(welcome.containerInstanceArn).toMatch(/:container-instance\/blue\/[0-9a-f]{32}$/);
    agent.close();
  });

  it('refuses an unknown join token with 401', async () => {
    await expect(connectRawAgent(runtime.endpoint, 'blue', 'berth_jt_wrong')).rejects.toThrow(/401/);
  });

  it('refuses a join token minted for another cluster with 401', async () => {
    await expect(connectRawAgent(runtime.endpoint, 'green', tokenForBlue)).rejects.toThrow(/401/);
  });

  it('refuses an unknown cluster with 404', async () => {
    await expect(connectRawAgent(runtime.endpoint, 'no-such-cluster', tokenForBlue)).rejects.toThrow(/404/);
  });

  it('answers a plain GET on the connect path with 426 Upgrade Required', async () => {
    const response = await fetch(`${runtime.endpoint}${AGENT_CONNECT_PATH}?cluster=blue`, {
      headers: { Authorization: `Bearer ${tokenForBlue}` },
    });
    expect(response.status).toBe(426);
  });
});
