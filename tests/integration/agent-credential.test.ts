/**
 * The real agent's side of instance identity, against a real control plane: it keeps the
 * credential it was issued (in a state file only it can read), proves it on every later connect
 * without needing its join token, and registers afresh once its instance was deregistered.
 */
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateClusterCommand, DeregisterContainerInstanceCommand } from '@aws-sdk/client-ecs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type RunningAgent, startAgent } from '../../agent';
import { SimulatedRuntime } from '../../agent/runtime/simulated-runtime';
import { STATE_FILE_NAME } from '../../agent/state/state-file';
import { mintJoinToken } from '../../worker/core/join-tokens/join-tokens';
import { startTestControlPlane, type TestControlPlane } from '../helpers/control-plane';
import { waitFor } from '../helpers/wait';

const CLUSTER = 'credentials';

describe('the agent and its instance credential', () => {
  let test: TestControlPlane;
  let stateDir: string;
  let joinToken: string;
  let agent: RunningAgent | undefined;

  const start = (token: string) =>
    startAgent({
      endpoint: test.plane.url,
      cluster: CLUSTER,
      joinToken: token,
      attributes: [],
      stateDir,
      runtime: new SimulatedRuntime({ startDelayMs: 10 }),
      log: () => {},
    });

  const savedState = () =>
    JSON.parse(readFileSync(join(stateDir, STATE_FILE_NAME), 'utf8')) as {
      instanceId?: string;
      instanceCredential?: string;
    };

  beforeAll(async () => {
    test = await startTestControlPlane();
    await test.ecs.send(new CreateClusterCommand({ clusterName: CLUSTER }));
    joinToken = await mintJoinToken(test.plane.deps, CLUSTER);
    stateDir = mkdtempSync(join(tmpdir(), 'berth-agent-credential-'));
  });
  afterEach(async () => {
    await agent?.stop();
    agent = undefined;
  });
  afterAll(async () => {
    await test?.close();
    rmSync(stateDir, { recursive: true, force: true });
  });

  it('keeps the credential it was issued in a state file readable by its owner only', async () => {
    agent = await start(joinToken);
    await waitFor('the agent to be welcomed', () => agent!.connected());
    await waitFor('the credential to be saved', () => savedState().instanceCredential);
    expect(savedState().instanceCredential).toMatch(/^berth_ic_[0-9a-f]{32}_[0-9a-f]{64}$/);
    expect(statSync(join(stateDir, STATE_FILE_NAME)).mode & 0o777).toBe(0o600);
  });

  it('comes back as the same instance with its credential, even with a join token that no longer works', async () => {
    const { instanceId } = savedState();
    agent = await start('berth_jt_revoked-or-wrong');
    await waitFor('the agent to be welcomed again', () => agent!.connected());
    expect(agent.instanceId()).toBe(instanceId);
  });

  it('registers as a new instance once its instance was deregistered', async () => {
    const { instanceId: oldId } = savedState();
    agent = await start(joinToken);
    await waitFor('the agent to be welcomed', () => agent!.connected());
    await test.ecs.send(
      new DeregisterContainerInstanceCommand({ cluster: CLUSTER, containerInstance: oldId!, force: true }),
    );
    const newId = await waitFor('a new identity', () => {
      const id = agent!.connected() ? agent!.instanceId() : undefined;
      return id !== oldId ? id : undefined;
    });
    expect(newId).toMatch(/^[0-9a-f]{32}$/);
    // The welcome reaches the agent before its state file is rewritten, so wait for the write.
    const credential = await waitFor('the new credential to be saved', () => {
      const saved = savedState().instanceCredential;
      return saved?.includes(newId!) ? saved : undefined;
    });
    expect(credential).not.toContain(oldId!);
  });
});
