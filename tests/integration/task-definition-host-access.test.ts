/**
 * RegisterTaskDefinition through the real ECS front (SDK serialization, model validation, domain
 * rules): settings that reach into the host register (a cluster's container policy decides at
 * launch), their harmless defaults pass.
 */
import { CreateClusterCommand, RegisterTaskDefinitionCommand, RunTaskCommand } from '@aws-sdk/client-ecs';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { taskDefinitions } from '../../db/schema';
import { startTestControlPlane, type TestControlPlane } from '../helpers/control-plane';

describe('RegisterTaskDefinition and host access', () => {
  let test: TestControlPlane;

  beforeAll(async () => {
    test = await startTestControlPlane();
    await test.ecs.send(new CreateClusterCommand({ clusterName: 'default' }));
  });
  afterAll(async () => {
    await test?.close();
  });

  it('registers a privileged host-network definition, which the cluster then refuses to run by name', async () => {
    const registered = await test.ecs.send(
      new RegisterTaskDefinitionCommand({
        family: 'root',
        networkMode: 'host',
        containerDefinitions: [{ name: 'main', image: 'busybox', memory: 16, privileged: true }],
      }),
    );
    expect(registered.taskDefinition!.containerDefinitions![0].privileged).toBe(true);
    await expect(
      test.ecs.send(new RunTaskCommand({ cluster: 'default', taskDefinition: 'root' })),
    ).rejects.toMatchObject({
      name: 'ClientException',
      message: expect.stringMatching(
        /^networkMode: networkMode 'host' is not allowed in cluster 'default', .*`npx berth cluster-policy --cluster default --allow host-network`/,
      ),
    });
  });

  it('accepts and echoes the harmless defaults tools send', async () => {
    const out = await test.ecs.send(
      new RegisterTaskDefinitionCommand({
        family: 'defaults',
        pidMode: 'task',
        volumes: [{ name: 'scratch', host: {} }],
        containerDefinitions: [
          {
            name: 'main',
            image: 'busybox',
            memory: 16,
            privileged: false,
            dockerSecurityOptions: [],
            linuxParameters: { capabilities: { add: [], drop: [] }, devices: [] },
          },
        ],
      }),
    );
    const [main] = out.taskDefinition!.containerDefinitions!;
    expect(main.privileged).toBe(false);
    expect(main.linuxParameters?.capabilities).toEqual({ add: [], drop: [] });
    expect(out.taskDefinition!.volumes).toEqual([{ name: 'scratch', host: {} }]);
  });

  it('refuses to run a stored definition with Docker security options, which no policy allows', async () => {
    const registered = await test.ecs.send(
      new RegisterTaskDefinitionCommand({
        family: 'legacy-seccomp',
        containerDefinitions: [{ name: 'main', image: 'busybox', memory: 16 }],
      }),
    );
    // What an older Berth could have stored: the same definition with a security option.
    const arn = registered.taskDefinition!.taskDefinitionArn!;
    const [row] = await test.plane.deps.db.select().from(taskDefinitions).where(eq(taskDefinitions.arn, arn));
    const body = JSON.parse(row.bodyJson);
    body.containerDefinitions[0].dockerSecurityOptions = ['seccomp=unconfined'];
    await test.plane.deps.db
      .update(taskDefinitions)
      .set({ bodyJson: JSON.stringify(body) })
      .where(eq(taskDefinitions.arn, arn));
    await expect(
      test.ecs.send(new RunTaskCommand({ cluster: 'default', taskDefinition: arn })),
    ).rejects.toMatchObject({
      name: 'ClientException',
      message: expect.stringMatching(
        /^containerDefinitions\[0\]\.dockerSecurityOptions: .* no cluster policy setting allows it\.$/,
      ),
    });
  });
});
