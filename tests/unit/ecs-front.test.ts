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
import { type CoreDeps, DEFAULT_BERTH_CONFIG, randomHexId } from '../../worker/core/deps';
import { InProcessRooms } from '../../worker/hosts/node/in-process-rooms';

const TARGET = 'AmazonEC2ContainerServiceV20141113';

describe('the ECS front through app.request()', () => {
  let dataDir: string;
  let database: OpenDatabase;
  let rooms: InProcessRooms;
  let app: Hono;

  const call = async (action: string, body: unknown, headers: Record<string, string> = {}) => {
    const response = await app.request('http://127.0.0.1:8787/', {
      method: 'POST',
      headers: {
        // app.request sends no Host of its own; every HTTP/1.1 client does, and the front checks it.
        Host: '127.0.0.1:8787',
        'Content-Type': 'application/x-amz-json-1.1',
        'X-Amz-Target': `${TARGET}.${action}`,
        ...headers,
      },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
    return {
      status: response.status,
      errorType: response.headers.get('X-Amzn-ErrorType'),
      body: (await response.json()) as Record<string, unknown>,
    };
  };

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'berth-front-'));
    database = await openDatabase({ dataDir });
    const deps: CoreDeps = {
      db: database.db,
      config: DEFAULT_BERTH_CONFIG,
      now: Date.now,
      newId: randomHexId,
    };
    rooms = new InProcessRooms(deps, () => {});
    app = createApp({ deps, coordinators: rooms, log: () => {} });
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
});
