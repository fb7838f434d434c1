/**
 * On Workers, a request naming a cluster that doesn't exist must not leave a Durable Object with
 * storage behind: each cluster name is its own object, so an attacker looping over unique names
 * would otherwise grow the namespace without bound. Bad names never reach an object id at all.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateClusterCommand, StopTaskCommand } from '@aws-sdk/client-ecs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningWorkersControlPlane, startWorkersControlPlane } from '../../cli/start-workers';
import { ecsClientFor } from '../helpers/control-plane';
import { createTestKey } from '../helpers/credentials';

function filesUnder(dir: string): string[] {
  try {
    return readdirSync(dir, { recursive: true, withFileTypes: true })
      .filter((entry) => entry.isFile())
      .map((entry) => join(entry.parentPath, entry.name));
  } catch {
    return [];
  }
}

describe('requests naming unknown clusters on the Workers runtime', () => {
  let dataDir: string;
  let plane: RunningWorkersControlPlane;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'berth-workers-unknown-'));
    plane = await startWorkersControlPlane({ dataDir, port: 0, onWorkerLog: () => {} });
  });
  afterAll(async () => {
    await plane?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('leaves no Durable Object storage behind for clusters that do not exist', async () => {
    const ecs = ecsClientFor(plane.url, await createTestKey(plane.deps, plane.serverKey));
    await ecs.send(new CreateClusterCommand({ clusterName: 'real' }));
    const before = filesUnder(join(dataDir, 'durable-objects'));
    for (let i = 0; i < 30; i++) {
      await expect(ecs.send(new StopTaskCommand({ cluster: `ghost-${i}`, task: 'x' }))).rejects.toMatchObject(
        { name: 'ClusterNotFoundException' },
      );
    }
    await expect(
      ecs.send(new StopTaskCommand({ cluster: 'Q'.repeat(100_000), task: 'x' })),
    ).rejects.toMatchObject({
      name: 'InvalidParameterException',
      message: expect.stringMatching(/^cluster: /),
    });
    expect(filesUnder(join(dataDir, 'durable-objects'))).toEqual(before);
    ecs.destroy();
  });
});
