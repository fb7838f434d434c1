/**
 * RegisterTaskDefinition through the real ECS front (SDK serialization, model validation, domain
 * rules): settings that reach into the host are refused by name, their harmless defaults pass.
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

  it('refuses a privileged container with a ClientException naming the field', async () => {
    await expect(
      test.ecs.send(
        new RegisterTaskDefinitionCommand({
          family: 'root',
          containerDefinitions: [{ name: 'main', image: 'busybox', memory: 16, privileged: true }],
        }),
      ),
    ).rejects.toMatchObject({
      name: 'ClientException',
      message: expect.stringMatching(/^containerDefinitions\[0\]\.privileged: .* is not allowed/),
    });
  });

  it('refuses host network mode, which would reach the control plane on the host loopback', async () => {
    await expect(
      test.ecs.send(
        new RegisterTaskDefinitionCommand({
          family: 'loopback',
          networkMode: 'host',
          containerDefinitions: [{ name: 'main', image: 'busybox', memory: 16 }],
        }),
      ),
    ).rejects.toMatchObject({
      name: 'ClientException',
      message: expect.stringMatching(/^networkMode: networkMode 'host' is not allowed/),
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

  it('refuses to run a host-network definition registered before registration refused it', async () => {
    const registered = await test.ecs.send(
      new RegisterTaskDefinitionCommand({
        family: 'legacy-host',
        containerDefinitions: [{ name: 'main', image: 'busybox', memory: 16 }],
      }),
    );
    // What an older Berth stored: the same definition with host networking.
    const arn = registered.taskDefinition!.taskDefinitionArn!;
    const [row] = await test.plane.deps.db.select().from(taskDefinitions).where(eq(taskDefinitions.arn, arn));
    const body = { ...JSON.parse(row.bodyJson), networkMode: 'host' };
    await test.plane.deps.db
      .update(taskDefinitions)
      .set({ bodyJson: JSON.stringify(body) })
      .where(eq(taskDefinitions.arn, arn));
    await expect(
      test.ecs.send(new RunTaskCommand({ cluster: 'default', taskDefinition: arn })),
    ).rejects.toMatchObject({
      name: 'ClientException',
      message: expect.stringMatching(/^networkMode: networkMode 'host' is not allowed/),
    });
  });
});
