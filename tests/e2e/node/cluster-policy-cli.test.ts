/**
 * `berth cluster-policy`, the contract from the shell, as its own process against a real control
 * plane: options set the whole policy and print it, no options print it, and a refusal exits 1
 * with the ECS error name and a message naming the field.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { CreateClusterCommand } from '@aws-sdk/client-ecs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestControlPlane, type TestControlPlane } from '../../helpers/control-plane';
import { signedFetch, type TestCredentials } from '../../helpers/credentials';

const BERTH_BIN = new URL('../../../bin/berth.mjs', import.meta.url).pathname;
const run = promisify(execFile);

describe('berth cluster-policy', () => {
  let test: TestControlPlane;
  const berth = (args: string[], as?: TestCredentials) =>
    run(process.execPath, [BERTH_BIN, 'cluster-policy', ...args], {
      env: {
        ...process.env,
        BERTH_ENDPOINT: test.plane.url,
        AWS_ACCESS_KEY_ID: (as ?? test.credentials).accessKeyId,
        AWS_SECRET_ACCESS_KEY: (as ?? test.credentials).secretAccessKey,
        AWS_PROFILE: '',
      },
    });

  beforeAll(async () => {
    test = await startTestControlPlane();
    await test.ecs.send(new CreateClusterCommand({ clusterName: 'cli' }));
  });
  afterAll(async () => {
    await test?.close();
  });

  it('sets the policy from its options and prints it, normalized; without options prints it', async () => {
    const set = await berth([
      '--cluster',
      'cli',
      '--allow',
      'devices',
      '--allow',
      'privileged',
      '--host-path',
      '/srv/data/',
      '--host-path',
      '/opt/cache',
    ]);
    const expected = {
      clusterArn: 'arn:aws:ecs:us-east-1:000000000000:cluster/cli',
      allow: ['privileged', 'devices'],
      hostPaths: ['/opt/cache', '/srv/data'],
    };
    expect(JSON.parse(set.stdout)).toEqual(expected);
    expect(JSON.parse((await berth(['--cluster', 'cli'])).stdout)).toEqual(expected);
  });

  it('exits 1 naming the field for a bad value, and refuses a deployer', async () => {
    const bad = await berth(['--cluster', 'cli', '--allow', 'root']).catch((e) => e);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain(
      "berth: InvalidParameterException: allow[0]: 'root' is not one of privileged, host-network, host-pid, host-ipc, docker-socket, capabilities, devices",
    );
    const relative = await berth(['--cluster', 'cli', '--host-path', 'srv']).catch((e) => e);
    expect(relative.stderr).toContain(
      "InvalidParameterException: hostPaths[0]: 'srv' is not an absolute path",
    );
    const typo = await berth(['--cluster', 'cli', '--host-paths', '/srv']).catch((e) => e);
    expect(typo.stderr).toContain('cluster-policy: unknown option --host-paths');

    const response = await signedFetch(
      `${test.plane.url}/berth/v1/keys`,
      { method: 'POST', body: JSON.stringify({ name: 'ci', policy: 'deployer:cli' }) },
      test.credentials,
    );
    const key = (await response.json()) as TestCredentials;
    const refused = await berth(['--cluster', 'cli', '--allow', 'privileged'], key).catch((e) => e);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/berth: AccessDeniedException: .*berth:PutContainerPolicy/);
    expect(JSON.parse((await berth(['--cluster', 'cli'], key)).stdout).allow).toEqual([
      'privileged',
      'devices',
    ]);
  });
});
