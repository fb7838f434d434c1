/**
 * RegisterTaskDefinition through the real ECS front (SDK serialization, model validation, domain
 * rules): settings that reach into the host are refused by name, their harmless defaults pass.
 */
import { RegisterTaskDefinitionCommand } from '@aws-sdk/client-ecs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestControlPlane, type TestControlPlane } from '../helpers/control-plane';

describe('RegisterTaskDefinition and host access', () => {
  let test: TestControlPlane;

  beforeAll(async () => {
    test = await startTestControlPlane();
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
});
