/**
 * The contract of the admin key and `berth keys`, as a user meets them: a first `berth server` on
 * a fresh data directory writes an admin key to `<dataDir>/credentials` (profile `berth`) before
 * it answers, says how to use it, and `berth keys …` signed with that profile through the standard
 * AWS credential chain creates, lists and deletes keys that then work (or stop working) with the SDK.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CreateClusterCommand, ListClustersCommand } from '@aws-sdk/client-ecs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BERTH_BIN } from '../../helpers/berth-process';
import { ecsClientFor } from '../../helpers/control-plane';
import { credentialsFileKey } from '../../helpers/credentials';
import { errorOf } from '../../helpers/ecs-errors';
import { freePort, type ServerProcess, spawnServer } from '../../helpers/server-process';

const run = promisify(execFile);

describe('the first admin key and berth keys', () => {
  let dataDir: string;
  let server: ServerProcess;
  const berthKeys = (...args: string[]) =>
    run(process.execPath, [BERTH_BIN, 'keys', ...args], {
      env: {
        ...process.env,
        BERTH_ENDPOINT: server.url,
        AWS_SHARED_CREDENTIALS_FILE: join(dataDir, 'credentials'),
        AWS_PROFILE: 'berth',
        AWS_ACCESS_KEY_ID: '',
        AWS_SECRET_ACCESS_KEY: '',
      },
    });

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'berth-keys-cli-'));
    server = await spawnServer({ dataDir, port: await freePort() });
  });
  afterAll(async () => {
    await server?.kill();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('writes an admin key on first start, readable by its owner only, and says how to use it', async () => {
    expect(statSync(join(dataDir, 'credentials')).mode & 0o777).toBe(0o600);
    expect(server.output()).toContain(
      `export AWS_SHARED_CREDENTIALS_FILE=${join(dataDir, 'credentials')} AWS_PROFILE=berth`,
    );
    const admin = ecsClientFor(server.url, await credentialsFileKey(dataDir));
    await admin.send(new CreateClusterCommand({ clusterName: 'cli' }));
    admin.destroy();
  });

  it('creates a key that works as its policy says, lists it, and deletes it', async () => {
    const created = JSON.parse(
      (await berthKeys('create', '--name', 'reader', '--policy', 'read-only')).stdout,
    );
    expect(created).toMatchObject({
      accessKeyId: expect.stringMatching(/^BKIA[A-Z2-7]{16}$/),
      name: 'reader',
    });
    expect(created.secretAccessKey).toMatch(/^\S{40}$/);
    const reader = ecsClientFor(server.url, created);
    expect((await reader.send(new ListClustersCommand({}))).clusterArns).toHaveLength(1);
    expect((await errorOf(reader.send(new CreateClusterCommand({ clusterName: 'no' })))).name).toBe(
      'AccessDeniedException',
    );

    const listed = JSON.parse((await berthKeys('list')).stdout);
    expect(listed.accessKeys.map((k: { name: string }) => k.name)).toEqual(['berth-admin', 'reader']);
    await berthKeys('delete', created.accessKeyId);
    expect((await errorOf(reader.send(new ListClustersCommand({})))).name).toBe(
      'UnrecognizedClientException',
    );
    reader.destroy();
  });

  it('exits 1 naming the error for a bad policy or an unknown key', async () => {
    const bad = await berthKeys('create', '--name', 'x', '--policy', '/no/such/policy.json').catch((e) => e);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain(
      "--policy '/no/such/policy.json' is neither a built-in policy nor a readable file",
    );
    const unknown = await berthKeys('delete', 'BKIANOSUCHKEY0000000').catch((e) => e);
    expect(unknown.stderr).toContain('berth: InvalidParameterException: accessKeyId:');
  });

  it('keeps the first key on a restart, and makes no second one', async () => {
    const before = await credentialsFileKey(dataDir);
    await server.kill();
    server = await spawnServer({ dataDir, port: await freePort() });
    expect(await credentialsFileKey(dataDir)).toEqual(before);
    expect(server.output()).not.toContain('created an admin key');
  });
});
