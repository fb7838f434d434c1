/**
 * A control-plane restart in the middle of a rolling update: the deployment's state is in the
 * database, so the restarted room takes the next step itself and the update completes with every
 * task on the new definition, none lost and none started twice.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateClusterCommand,
  CreateServiceCommand,
  DeleteServiceCommand,
  DescribeServicesCommand,
  ListTasksCommand,
  RegisterTaskDefinitionCommand,
  UpdateServiceCommand,
  waitUntilServicesStable,
} from '@aws-sdk/client-ecs';
import { afterAll, describe, expect, it } from 'vitest';
import { mintJoinToken } from '../../../worker/core/join-tokens/join-tokens';
import { startTestControlPlane, type TestControlPlane } from '../../helpers/control-plane';
import { type RawAgentFleet, startRawAgentFleet } from '../../helpers/raw-agent-fleet';
import { waitFor } from '../../helpers/wait';

const CLUSTER = 'restart';
const HEALTHY_AFTER_MS = 300;
const WAITER = { minDelay: 1, maxDelay: 1, maxWaitTime: 60 };
const config = { taskHealthyAfterMs: HEALTHY_AFTER_MS };

describe('a rolling update across a control-plane restart', () => {
  let plane: TestControlPlane | undefined;
  let fleet: RawAgentFleet | undefined;
  const cleanup: (() => void)[] = [];

  afterAll(async () => {
    fleet?.close();
    await plane?.close();
    for (const step of cleanup) step();
  });

  it('completes after the restart with no task lost and none duplicated', async () => {
    // Our own data directory: a control plane that made its own removes it on close.
    const dataDir = mkdtempSync(join(tmpdir(), 'berth-restart-'));
    cleanup.push(() => rmSync(dataDir, { recursive: true, force: true }));
    plane = await startTestControlPlane({ dataDir, config });
    const first = plane;
    await first.ecs.send(new CreateClusterCommand({ clusterName: CLUSTER }));
    const revisions: string[] = [];
    for (const tag of ['1', '2']) {
      const out = await first.ecs.send(
        new RegisterTaskDefinitionCommand({
          family: 'restart-app',
          containerDefinitions: [{ name: 'main', image: `example/app:${tag}`, memory: 32, essential: true }],
        }),
      );
      revisions.push(out.taskDefinition!.taskDefinitionArn!);
    }
    fleet = await startRawAgentFleet(
      first.plane.url,
      CLUSTER,
      () => mintJoinToken(first.plane.deps, CLUSTER),
      2,
    );
    await first.ecs.send(
      new CreateServiceCommand({
        cluster: CLUSTER,
        serviceName: 'app',
        taskDefinition: revisions[0],
        desiredCount: 4,
        deploymentConfiguration: { minimumHealthyPercent: 50, maximumPercent: 100 },
      }),
    );
    await waitUntilServicesStable({ client: first.ecs, ...WAITER }, { cluster: CLUSTER, services: ['app'] });
    await waitFor('a steady state', async () => {
      const out = await first.ecs.send(new DescribeServicesCommand({ cluster: CLUSTER, services: ['app'] }));
      return out.services![0].events![0]?.message?.endsWith('has reached a steady state.');
    });

    // The update stops 2 old tasks at once (min 50 %); the rest waits on the new tasks' health.
    await first.ecs.send(
      new UpdateServiceCommand({ cluster: CLUSTER, service: 'app', taskDefinition: revisions[1] }),
    );
    await waitFor('the first new tasks to start', () =>
      [...fleet!.live.values()].some((t) => t.revision === 2),
    );
    await first.close();

    plane = await startTestControlPlane({ dataDir, config });
    const second = plane;
    await fleet.reconnect(second.plane.url);
    await waitUntilServicesStable({ client: second.ecs, ...WAITER }, { cluster: CLUSTER, services: ['app'] });
    await waitFor('4 tasks of the new definition on the hosts', () => {
      const tasks = [...fleet!.live.values()];
      return tasks.length === 4 && tasks.every((t) => t.revision === 2);
    });
    const listed = await second.ecs.send(
      new ListTasksCommand({ cluster: CLUSTER, serviceName: 'app', desiredStatus: 'RUNNING' }),
    );
    expect(listed.taskArns).toHaveLength(4);
    expect([...fleet.runCount.values()].every((n) => n === 1)).toBe(true);
    const service = (
      await second.ecs.send(new DescribeServicesCommand({ cluster: CLUSTER, services: ['app'] }))
    ).services![0];
    expect(service.deployments).toHaveLength(1);
    expect(service.deployments![0]).toMatchObject({ taskDefinition: revisions[1], runningCount: 4 });
  }, 60_000);

  it('purges an INACTIVE service after its retention even when the control plane restarted in between', async () => {
    const retentionMs = 1_500;
    const dataDir = mkdtempSync(join(tmpdir(), 'berth-purge-'));
    cleanup.push(() => rmSync(dataDir, { recursive: true, force: true }));
    const purgeConfig = { ...config, inactiveServiceRetentionMs: retentionMs };
    const first = await startTestControlPlane({ dataDir, config: purgeConfig });
    await first.ecs.send(new CreateClusterCommand({ clusterName: 'purge' }));
    const definition = await first.ecs.send(
      new RegisterTaskDefinitionCommand({
        family: 'purge-app',
        containerDefinitions: [{ name: 'main', image: 'example/app:1', memory: 32, essential: true }],
      }),
    );
    await first.ecs.send(
      new CreateServiceCommand({
        cluster: 'purge',
        serviceName: 'gone',
        taskDefinition: definition.taskDefinition!.taskDefinitionArn!,
        desiredCount: 0,
      }),
    );
    const deletedAtMs = Date.now();
    // No task to stop: the service is INACTIVE at once, and its purge deadline is only in the database.
    const deleted = await first.ecs.send(new DeleteServiceCommand({ cluster: 'purge', service: 'gone' }));
    expect(deleted.service?.status).toBe('INACTIVE');
    await first.close();

    const second = await startTestControlPlane({ dataDir, config: purgeConfig });
    cleanup.push(() => void second.close());
    const described = async () =>
      second.ecs.send(new DescribeServicesCommand({ cluster: 'purge', services: ['gone'] }));
    if (Date.now() - deletedAtMs < retentionMs - 200) {
      expect((await described()).services![0].status).toBe('INACTIVE');
    }
    const purged = await waitFor('the purge after the restart', async () => {
      const out = await described();
      return out.failures?.length === 1 && out;
    });
    expect(Date.now() - deletedAtMs).toBeGreaterThanOrEqual(retentionMs);
    expect(purged.failures![0].reason).toBe('MISSING');
  }, 30_000);
});
