/**
 * The ECS front door through `app.request()`: no port, no socket, the real app over a real libSQL
 * file and in-process rooms. What the JSON 1.1 protocol promises a client: the target header picks
 * the action, errors carry `__type` and `X-Amzn-ErrorType`, and the message names the field.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type OpenDatabase, openDatabase } from '../../db/node-database';
import { createApp } from '../../worker/app';
import { setAccessKeyStatus } from '../../worker/core/auth/access-keys';
import { type CoreDeps, DEFAULT_BERTH_CONFIG, randomHexId } from '../../worker/core/deps';
import { InProcessRooms } from '../../worker/hosts/node/in-process-rooms';
import { createTestKey, signedRequest, type TestCredentials } from '../helpers/credentials';

const TARGET = 'AmazonEC2ContainerServiceV20141113';

describe('the ECS front through app.request()', () => {
  let dataDir: string;
  let database: OpenDatabase;
  let rooms: InProcessRooms;
  let app: Hono;

  let admin: TestCredentials;
  let serverKey: Uint8Array;
  let deps: CoreDeps;

  const call = async (
    action: string,
    body: unknown,
    headers: Record<string, string> = {},
    credentials: TestCredentials = admin,
  ) => {
    // Signed with the host header every HTTP/1.1 client sends (app.request sends none of its own).
    const request = await signedRequest(
      'http://127.0.0.1:8787/',
      {
        method: 'POST',
        headers: {
          'Content-Type': 'application/x-amz-json-1.1',
          'X-Amz-Target': `${TARGET}.${action}`,
          ...headers,
        },
        body: typeof body === 'string' ? body : JSON.stringify(body),
      },
      credentials,
    );
    const response = await app.request(request);
    return {
      status: response.status,
      errorType: response.headers.get('X-Amzn-ErrorType'),
      body: (await response.json()) as Record<string, unknown>,
    };
  };

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'berth-front-'));
    database = await openDatabase({ dataDir });
    deps = {
      db: database.db,
      config: DEFAULT_BERTH_CONFIG,
      now: Date.now,
      newId: randomHexId,
    };
    serverKey = crypto.getRandomValues(new Uint8Array(32));
    admin = await createTestKey(deps, serverKey);
    rooms = new InProcessRooms(deps, () => {});
    app = createApp({ deps, coordinators: rooms, log: () => {}, serverKey });
  });
  afterAll(() => {
    rooms.stop();
    database.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('creates and describes a cluster', async () => {
    const created = await call('CreateCluster', { clusterName: 'front' });
    expect(created.status).toBe(200);
    const described = await call('DescribeClusters', { clusters: ['front'] });
    expect(described.body.clusters).toEqual([
      expect.objectContaining({ clusterName: 'front', status: 'ACTIVE' }),
    ]);
  });

  it('names the missing required field in an InvalidParameterException', async () => {
    const out = await call('RegisterTaskDefinition', { family: 'web' });
    expect(out.status).toBe(400);
    expect(out.errorType).toBe('InvalidParameterException');
    expect(out.body).toEqual({
      __type: 'InvalidParameterException',
      message: 'containerDefinitions: required field is missing',
    });
  });

  it('answers a body that is not JSON with a client error, not a 500', async () => {
    const out = await call('ListClusters', '{"nextToken": ');
    expect(out.status).toBe(400);
    expect(out.body.__type).toBe('ClientException');
  });

  it('treats a null optional member as absent', async () => {
    await call('CreateCluster', { clusterName: 'nulls' });
    const out = await call('ListTasks', { cluster: 'nulls', family: null, nextToken: null });
    expect(out.status).toBe(200);
    expect(out.body.taskArns).toEqual([]);
  });

  it('answers an ECS action Berth does not serve with UnsupportedFeatureException', async () => {
    const out = await call('CreateDaemon', {});
    expect(out.status).toBe(400);
    expect(out.errorType).toBe('UnsupportedFeatureException');
  });

  it('routes a cluster write to the cluster room and answers ClusterNotFoundException for an unknown cluster', async () => {
    const out = await call('StopTask', { cluster: 'nowhere', task: 'x' });
    expect(out.status).toBe(400);
    expect(out.errorType).toBe('ClusterNotFoundException');
  });

  it('refuses a Host it was not configured for', async () => {
    const response = await app.request('http://rebound.example:8787/', {
      method: 'POST',
      headers: {
        Host: 'rebound.example:8787',
        'X-Amz-Target': `${TARGET}.ListClusters`,
        'Content-Type': 'application/x-amz-json-1.1',
      },
      body: '{}',
    });
    expect(response.status).toBe(403);
  });

  it('refuses an unsigned call with MissingAuthenticationTokenException, before reading the action', async () => {
    const response = await app.request('http://127.0.0.1:8787/', {
      method: 'POST',
      headers: { Host: '127.0.0.1:8787', 'X-Amz-Target': `${TARGET}.ListClusters` },
      body: '{}',
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({
      __type: 'MissingAuthenticationTokenException',
      message: 'Missing Authentication Token',
    });
  });

  it('lets a read-only key describe but not run, naming the principal, the action and the resource', async () => {
    const reader = await createTestKey(deps, serverKey, 'read-only', 'auditor');
    expect((await call('ListClusters', {}, {}, reader)).status).toBe(200);
    const refused = await call('RunTask', { cluster: 'front', taskDefinition: 'x' }, {}, reader);
    expect(refused.errorType).toBe('AccessDeniedException');
    expect(refused.body.message).toBe(
      'User: arn:aws:iam::000000000000:user/auditor is not authorized to perform: ecs:RunTask on resource: arn:aws:ecs:us-east-1:000000000000:cluster/front because no identity-based policy allows the ecs:RunTask action',
    );
  });

  it('keeps a deployer of one cluster out of the others, and lets an explicit Deny win', async () => {
    const deployer = await createTestKey(deps, serverKey, 'deployer:front', 'ci');
    expect((await call('ListTasks', { cluster: 'front' }, {}, deployer)).status).toBe(200);
    const other = await call('ListTasks', { cluster: 'other' }, {}, deployer);
    expect(other.errorType).toBe('AccessDeniedException');
    const deleting = await call('DeleteCluster', { cluster: 'front' }, {}, deployer);
    expect(deleting.body.message).toMatch(/with an explicit deny in an identity-based policy$/);
  });

  it('stops accepting a key once it is deactivated', async () => {
    const key = await createTestKey(deps, serverKey, 'admin', 'temporary');
    expect((await call('ListClusters', {}, {}, key)).status).toBe(200);
    await setAccessKeyStatus(deps, key.accessKeyId, 'Inactive');
    const out = await call('ListClusters', {}, {}, key);
    expect(out.errorType).toBe('UnrecognizedClientException');
  });
});
