/**
 * `berth services …`, the shell's way to the Berth API's service controls, as its own process
 * against a real control plane: it prints the service as JSON, and exits 1 naming the ECS error.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import {
  CreateClusterCommand,
  CreateServiceCommand,
  DescribeServicesCommand,
  RegisterTaskDefinitionCommand,
} from '@aws-sdk/client-ecs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestControlPlane, type TestControlPlane } from '../../helpers/control-plane';

const BERTH_BIN = new URL('../../../bin/berth.mjs', import.meta.url).pathname;
const run = promisify(execFile);

describe('berth services', () => {
  let test: TestControlPlane;
  const berth = (...args: string[]) =>
    run(process.execPath, [BERTH_BIN, 'services', ...args], {
      // The standard AWS credential chain: here the environment, as a CI job would set it.
      env: {
        ...process.env,
        BERTH_ENDPOINT: test.plane.url,
        AWS_ACCESS_KEY_ID: test.credentials.accessKeyId,
        AWS_SECRET_ACCESS_KEY: test.credentials.secretAccessKey,
        AWS_PROFILE: '',
      },
    });

  beforeAll(async () => {
    test = await startTestControlPlane();
    await test.ecs.send(new CreateClusterCommand({ clusterName: 'cli' }));
    const definition = await test.ecs.send(
      new RegisterTaskDefinitionCommand({
        family: 'cli-web',
        containerDefinitions: [{ name: 'main', image: 'example/web:1', memory: 16 }],
      }),
    );
    await test.ecs.send(
      new CreateServiceCommand({
        cluster: 'cli',
        serviceName: 'web',
        desiredCount: 2,
        taskDefinition: definition.taskDefinition!.taskDefinitionArn,
      }),
    );
  });
  afterAll(async () => {
    await test?.close();
  });

  it('stops a service keeping its definition and starts it again, printing the service', async () => {
    const stopped = await berth('stop', '--cluster', 'cli', '--service', 'web');
    expect(JSON.parse(stopped.stdout).service).toMatchObject({ serviceName: 'web', desiredCount: 0 });
    const started = await berth('start', '--cluster', 'cli', '--service', 'web');
    expect(JSON.parse(started.stdout).service).toMatchObject({ desiredCount: 2 });
    const described = await test.ecs.send(new DescribeServicesCommand({ cluster: 'cli', services: ['web'] }));
    expect(described.services![0].desiredCount).toBe(2);
  });

  it('exits 1 with the ECS error name and message when refused or misused', async () => {
    const refused = await berth('stop', '--cluster', 'cli', '--service', 'nope').catch((e) => e);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('berth: ServiceNotFoundException: Service not found.');
    const misused = await berth('rollback', '--cluster', 'cli', '--service', 'web').catch((e) => e);
    expect(misused.code).toBe(1);
    expect(misused.stderr).toContain('--revision <service-revision ARN> is required');
    const unknown = await berth('explode', '--service', 'web').catch((e) => e);
    expect(unknown.stderr).toContain('the action must be one of pause, resume, rollback, stop, start');
  });
});
