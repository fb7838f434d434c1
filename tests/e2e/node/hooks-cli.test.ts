/**
 * The contract of `berth hooks`, as a user meets it: `hooks create` prints one JSON object with the
 * hook's `id`, `url` and `secret`; a delivery signed with that secret is accepted at that URL and
 * shows in `hooks deliveries`; `hooks redeliver`, `rotate`, `list` and `delete` work; a read-only
 * key may list hooks but not create them (`berth:ManageHooks`).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  CreateClusterCommand,
  CreateServiceCommand,
  RegisterTaskDefinitionCommand,
} from '@aws-sdk/client-ecs';
import { sign } from '@octokit/webhooks-methods';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BERTH_BIN } from '../../helpers/berth-process';
import { ecsClientFor } from '../../helpers/control-plane';
import { credentialsFileKey } from '../../helpers/credentials';
import { freePort, type ServerProcess, spawnServer } from '../../helpers/server-process';
import { waitFor } from '../../helpers/wait';

const run = promisify(execFile);

describe('berth hooks', () => {
  let dataDir: string;
  let server: ServerProcess;
  const berth = async (credentials: Record<string, string>, ...args: string[]) =>
    JSON.parse(
      (
        await run(process.execPath, [BERTH_BIN, ...args], {
          env: { ...process.env, BERTH_ENDPOINT: server.url, ...credentials },
        })
      ).stdout,
    );
  const admin = (...args: string[]) =>
    berth(
      {
        AWS_SHARED_CREDENTIALS_FILE: join(dataDir, 'credentials'),
        AWS_PROFILE: 'berth',
        AWS_ACCESS_KEY_ID: '',
        AWS_SECRET_ACCESS_KEY: '',
      },
      ...args,
    );

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'berth-hooks-cli-'));
    server = await spawnServer({ dataDir, port: await freePort(), env: { BERTH_HOOK_DEBOUNCE_MS: '100' } });
    const ecs = ecsClientFor(server.url, await credentialsFileKey(dataDir));
    await ecs.send(new CreateClusterCommand({ clusterName: 'shop' }));
    const definition = await ecs.send(
      new RegisterTaskDefinitionCommand({
        family: 'web',
        containerDefinitions: [{ name: 'main', image: 'registry.example/web:1', memory: 16 }],
      }),
    );
    await ecs.send(
      new CreateServiceCommand({
        cluster: 'shop',
        serviceName: 'web',
        taskDefinition: definition.taskDefinition!.taskDefinitionArn!,
        desiredCount: 0,
      }),
    );
    await ecs.send(new CreateClusterCommand({ clusterName: 'elsewhere' }));
    await ecs.send(
      new CreateServiceCommand({
        cluster: 'elsewhere',
        serviceName: 'web',
        taskDefinition: definition.taskDefinition!.taskDefinitionArn!,
        desiredCount: 0,
      }),
    );
    ecs.destroy();
  });
  afterAll(async () => {
    await server?.kill();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('creates a hook whose URL and secret accept a signed delivery, and shows its outcome', async () => {
    const hook = await admin(
      'hooks',
      'create',
      '--cluster',
      'shop',
      '--service',
      'web',
      '--provider',
      'github',
      '--container',
      'main',
      '--branch',
      'main',
      '--tags',
      'v*',
    );
    expect(hook).toMatchObject({
      id: expect.stringMatching(/^hk[0-9a-f]{24}$/),
      url: `${server.url}/hooks/${hook.id}`,
      secret: expect.stringMatching(/^[0-9a-f]{64}$/),
      cluster: 'shop',
      service: 'web',
      provider: 'github',
      containers: ['main'],
      branches: ['main'],
      tagPatterns: ['v*'],
    });
    const body = JSON.stringify({
      ref: 'refs/tags/v2',
      after: 'c'.repeat(40),
      repository: { full_name: 'acme/web' },
    });
    const response = await fetch(hook.url, {
      method: 'POST',
      headers: {
        'x-github-event': 'push',
        'x-github-delivery': 'guid-1',
        'x-hub-signature-256': await sign(hook.secret, body),
      },
      body,
    });
    expect(response.status).toBe(202);
    const { deliveryId } = (await response.json()) as { deliveryId: string };
    const deployed = await waitFor('the delivery to deploy', async () => {
      const { deliveries } = await admin('hooks', 'deliveries', hook.id);
      return deliveries[0]?.outcome === 'deployed' && deliveries[0];
    });
    expect(deployed).toMatchObject({
      id: deliveryId,
      sourceDeliveryId: 'guid-1',
      provider: 'github',
      event: 'push',
      tag: 'v2',
      commit: 'c'.repeat(40),
      image: 'registry.example/web:v2',
      deploymentId: expect.stringMatching(/^ecs-svc\/\d{19}$/),
    });

    const again = await admin('hooks', 'redeliver', hook.id, deliveryId);
    expect(again).toMatchObject({ outcome: 'queued' });
    const rotated = await admin('hooks', 'rotate', hook.id);
    expect(rotated).toMatchObject({ id: hook.id, activeSecrets: 2 });
    expect(rotated.secret).not.toBe(hook.secret);
    expect((await admin('hooks', 'list', '--cluster', 'shop')).hooks).toEqual([
      expect.objectContaining({ id: hook.id, activeSecrets: 2 }),
    ]);
    expect(JSON.stringify(await admin('hooks', 'list'))).not.toContain(hook.secret);
  });

  it('lets a read-only key list hooks but not create them', async () => {
    const reader = await admin('keys', 'create', '--name', 'reader', '--policy', 'read-only');
    const asReader = (...args: string[]) =>
      berth(
        {
          AWS_ACCESS_KEY_ID: reader.accessKeyId,
          AWS_SECRET_ACCESS_KEY: reader.secretAccessKey,
          AWS_PROFILE: '',
        },
        ...args,
      );
    expect((await asReader('hooks', 'list')).hooks).toHaveLength(1);
    const refused = await asReader(
      'hooks',
      'create',
      '--cluster',
      'shop',
      '--service',
      'web',
      '--provider',
      'gitlab',
    ).catch((e) => e);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('AccessDeniedException');
    expect(refused.stderr).toContain('berth:ManageHooks');
  });

  it("lets a deployer:<cluster> key manage that cluster's hooks and no other's", async () => {
    const deployer = await admin('keys', 'create', '--name', 'shop-deployer', '--policy', 'deployer:shop');
    const asDeployer = (...args: string[]) =>
      berth(
        {
          AWS_ACCESS_KEY_ID: deployer.accessKeyId,
          AWS_SECRET_ACCESS_KEY: deployer.secretAccessKey,
          AWS_PROFILE: '',
        },
        ...args,
      );
    const own = await asDeployer(
      'hooks',
      'create',
      '--cluster',
      'shop',
      '--service',
      'web',
      '--provider',
      'gitlab',
    );
    expect(own).toMatchObject({ cluster: 'shop', provider: 'gitlab' });
    expect(await asDeployer('hooks', 'delete', own.id)).toEqual({});
    // The cluster is the body's on create, and the hook's own on calls that name a hook.
    const theirs = await admin(
      'hooks',
      'create',
      '--cluster',
      'elsewhere',
      '--service',
      'web',
      '--provider',
      'github',
    );
    for (const attempt of [
      ['create', '--cluster', 'elsewhere', '--service', 'web', '--provider', 'gitlab'],
      ['rotate', theirs.id],
      ['deliveries', theirs.id],
    ]) {
      const refused = await asDeployer('hooks', ...attempt).catch((e) => e);
      expect(refused.stderr).toContain('AccessDeniedException');
      expect(refused.stderr).toContain('cluster/elsewhere');
    }
  });

  it('deletes a hook, after which its URL is unknown', async () => {
    const hook = await admin(
      'hooks',
      'create',
      '--cluster',
      'shop',
      '--service',
      'web',
      '--provider',
      'dockerhub',
    );
    expect(hook.secret).toBeUndefined();
    expect(await admin('hooks', 'delete', hook.id)).toEqual({});
    expect((await fetch(hook.url, { method: 'POST', body: '{}' })).status).toBe(404);
    const unknown = await admin('hooks', 'deliveries', hook.id).catch((e) => e);
    expect(unknown.stderr).toContain(`ResourceNotFoundException: hook '${hook.id}' not found`);
  });
});
