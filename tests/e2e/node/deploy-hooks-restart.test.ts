/**
 * A delivery accepted just before the control plane stops is deployed after it starts again: the
 * queued delivery and the service's `hookDeploy` deadline are in the database, not in memory.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateClusterCommand,
  CreateServiceCommand,
  ListServiceDeploymentsCommand,
  RegisterTaskDefinitionCommand,
} from '@aws-sdk/client-ecs';
import { sign } from '@octokit/webhooks-methods';
import { afterAll, describe, expect, it } from 'vitest';
import { createHook, listDeliveries } from '../../../worker/core/hooks/hooks';
import { startTestControlPlane, type TestControlPlane } from '../../helpers/control-plane';
import { waitFor } from '../../helpers/wait';

describe('a deploy hook across a control-plane restart', () => {
  let plane: TestControlPlane | undefined;
  const dataDir = mkdtempSync(join(tmpdir(), 'berth-hook-restart-'));

  afterAll(async () => {
    await plane?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('deploys a delivery queued before the stop', async () => {
    // A debounce long enough that the stop comes first.
    const config = { hookDebounceMs: 1_500 };
    plane = await startTestControlPlane({ dataDir, config });
    const { ecs } = plane;
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
    const hook = await createHook(plane.plane.deps, plane.plane.serverKey, plane.plane.url, {
      cluster: 'shop',
      service: 'web',
      provider: 'github',
    });
    const body = JSON.stringify({ ref: 'refs/tags/v7', after: 'f'.repeat(40) });
    const response = await fetch(hook.url, {
      method: 'POST',
      headers: { 'x-github-event': 'push', 'x-hub-signature-256': await sign(hook.secret!, body) },
      body,
    });
    expect(response.status).toBe(202);
    const deploymentsBefore = (
      await ecs.send(new ListServiceDeploymentsCommand({ cluster: 'shop', service: 'web' }))
    ).serviceDeployments!.length;
    expect((await listDeliveries(plane.plane.deps, hook.id))[0].outcome).toBe('queued');
    await plane.close();

    plane = await startTestControlPlane({ dataDir, config });
    const restarted = plane;
    const deployed = await waitFor('the queued delivery to deploy', async () => {
      const [delivery] = await listDeliveries(restarted.plane.deps, hook.id);
      return delivery.outcome === 'deployed' && delivery;
    });
    expect(deployed).toMatchObject({ tag: 'v7', image: 'registry.example/web:v7' });
    const after = await restarted.ecs.send(
      new ListServiceDeploymentsCommand({ cluster: 'shop', service: 'web' }),
    );
    expect(after.serviceDeployments!.length).toBe(deploymentsBefore + 1);
  });
});
