/**
 * Join tokens that expire and that are limited to N registrations, against a real control plane
 * with raw agents: refused at the door once spent (401), while an instance that joined with the
 * token keeps connecting with its own credential; and `berth join-token --ttl --uses` as a user
 * runs it.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { CreateClusterCommand } from '@aws-sdk/client-ecs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLOSE_CODES } from '../../protocol/agent-protocol';
import { mintJoinToken } from '../../worker/core/join-tokens/join-tokens';
import { BERTH_BIN } from '../helpers/berth-process';
import { startTestControlPlane, type TestControlPlane } from '../helpers/control-plane';
import { connectRawAgent, helloFrame } from '../helpers/raw-agent';

const CLUSTER = 'tokens';
const run = promisify(execFile);

describe('join token limits', () => {
  let test: TestControlPlane;

  /** Registers a raw agent with `token`; the instance credential it was issued. */
  const register = async (token: string) => {
    const agent = await connectRawAgent(test.plane.url, CLUSTER, token);
    agent.send(helloFrame());
    const welcome = await agent.waitForFrame('welcome');
    agent.close();
    return welcome.instanceCredential!;
  };

  beforeAll(async () => {
    test = await startTestControlPlane();
    await test.ecs.send(new CreateClusterCommand({ clusterName: CLUSTER }));
  });
  afterAll(async () => {
    await test?.close();
  });

  it('registers at most N instances with a token limited to N uses', async () => {
    const token = await mintJoinToken(test.plane.deps, CLUSTER, { uses: 2 });
    await register(token);
    await register(token);
    await expect(connectRawAgent(test.plane.url, CLUSTER, token)).rejects.toThrow(/401/);
  });

  it('lets two hosts race for the last use and registers only one of them', async () => {
    const token = await mintJoinToken(test.plane.deps, CLUSTER, { uses: 1 });
    const agents = await Promise.all([1, 2].map(() => connectRawAgent(test.plane.url, CLUSTER, token)));
    for (const agent of agents) agent.send(helloFrame());
    const outcomes = await Promise.all(
      agents.map((agent) =>
        Promise.race([
          agent.waitForFrame('welcome').then(() => 'welcomed'),
          agent.closed.then(({ code }) => `closed ${code}`),
        ]),
      ),
    );
    expect(outcomes.sort()).toEqual([`closed ${CLOSE_CODES.joinTokenSpent}`, 'welcomed']);
    for (const agent of agents) agent.close();
  });

  it('refuses an expired token, while the instance it registered still connects with its own credential', async () => {
    const token = await mintJoinToken(test.plane.deps, CLUSTER, { ttlMs: 400 });
    const credential = await register(token);
    await new Promise((resolve) => setTimeout(resolve, 500));
    await expect(connectRawAgent(test.plane.url, CLUSTER, token)).rejects.toThrow(/401/);
    const resumed = await connectRawAgent(test.plane.url, CLUSTER, credential);
    resumed.send(helloFrame());
    await resumed.waitForFrame('welcome');
    resumed.close();
  });

  it('mints with berth join-token --ttl and --uses, the token on the last line, and refuses bad values', async () => {
    const mint = (...extra: string[]) =>
      run(process.execPath, [
        BERTH_BIN,
        'join-token',
        '--cluster',
        CLUSTER,
        '--data-dir',
        test.dataDir,
        ...extra,
      ]);
    const { stdout } = await mint('--ttl', '15m', '--uses', '1');
    const token = stdout.trim().split('\n').at(-1)!;
    expect(token).toMatch(/^berth_jt_[0-9a-f]{64}$/);
    await register(token);
    await expect(connectRawAgent(test.plane.url, CLUSTER, token)).rejects.toThrow(/401/);
    const badTtl = await mint('--ttl', 'tomorrow').catch((e) => e);
    expect(badTtl.code).toBe(1);
    expect(badTtl.stderr).toContain("--ttl: 'tomorrow' is not a duration like 90s, 15m, 24h or 7d");
    const badUses = await mint('--uses', '0').catch((e) => e);
    expect(badUses.stderr).toContain("--uses '0' is not a whole number of at least 1");
  });
});
