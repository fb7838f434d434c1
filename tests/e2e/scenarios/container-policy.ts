/**
 * A cluster's container policy, end to end on every runtime: what takes over a host registers but
 * does not run in a cluster that denies it (RunTask, StartTask, CreateService, UpdateService answer
 * ClientException naming the field and the command that would allow it), runs once an admin
 * allows it (the hosts get what was allowed in the task's frame), a deployer cannot change the
 * policy, and hostile policy bodies are refused by field without changing it.
 */
import {
  CreateClusterCommand,
  CreateServiceCommand,
  type ECSClient,
  ListContainerInstancesCommand,
  RegisterTaskDefinitionCommand,
  type RegisterTaskDefinitionCommandInput,
  RunTaskCommand,
  StartTaskCommand,
  UpdateServiceCommand,
} from '@aws-sdk/client-ecs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DesiredTask } from '../../../protocol/agent-protocol';
import { signedFetch, type TestCredentials } from '../../helpers/credentials';
import { errorOf } from '../../helpers/ecs-errors';
import { type RawAgentFleet, startRawAgentFleet } from '../../helpers/raw-agent-fleet';
import type { RunningRuntime, RuntimeHarness } from '../../helpers/runtimes';
import { waitFor } from '../../helpers/wait';

const CLUSTER = 'policy-a';
const ALL_SETTINGS = [
  'privileged',
  'host-network',
  'host-pid',
  'host-ipc',
  'docker-socket',
  'capabilities',
  'devices',
] as const;

/** Everything the policy governs, each field with the setting (or host path) that allows it. */
const HOST_TAKEOVER: RegisterTaskDefinitionCommandInput = {
  family: 'takeover',
  networkMode: 'host',
  pidMode: 'host',
  ipcMode: 'host',
  volumes: [
    { name: 'data', host: { sourcePath: '/srv/berth-data/app' } },
    { name: 'docker', host: { sourcePath: '/var/run/docker.sock' } },
  ],
  containerDefinitions: [
    {
      name: 'main',
      image: 'busybox',
      memory: 16,
      privileged: true,
      mountPoints: [
        { sourceVolume: 'data', containerPath: '/data' },
        { sourceVolume: 'docker', containerPath: '/var/run/docker.sock', readOnly: true },
      ],
      linuxParameters: {
        capabilities: { add: ['NET_ADMIN'] },
        devices: [{ hostPath: '/dev/zero', containerPath: '/dev/zero2', permissions: ['read'] }],
      },
    },
  ],
};

const DENIALS = [
  { setting: 'host-network', field: 'networkMode' },
  { setting: 'host-pid', field: 'pidMode' },
  { setting: 'host-ipc', field: 'ipcMode' },
  { setting: 'docker-socket', field: 'volumes[1].host.sourcePath' },
  { setting: 'privileged', field: 'containerDefinitions[0].privileged' },
  { setting: 'capabilities', field: 'containerDefinitions[0].linuxParameters.capabilities.add' },
  { setting: 'devices', field: 'containerDefinitions[0].linuxParameters.devices' },
] as const;

export function defineContainerPolicyScenarios(harness: RuntimeHarness) {
  describe(`the cluster container policy on the ${harness.name} runtime`, () => {
    let runtime: RunningRuntime;
    let ecs: ECSClient;
    let fleet: RawAgentFleet;
    const given: DesiredTask[] = [];

    const policyApi = async (
      method: 'GET' | 'PUT',
      body?: string | object,
      options: { as?: TestCredentials; cluster?: string } = {},
    ) => {
      const response = await signedFetch(
        `${runtime.endpoint}/berth/v1/clusters/${encodeURIComponent(options.cluster ?? CLUSTER)}/container-policy`,
        {
          method,
          headers: { 'content-type': 'application/json' },
          body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
        },
        options.as ?? runtime.credentials,
      );
      return { status: response.status, body: (await response.json()) as Record<string, unknown> };
    };
    const putPolicy = async (allow: readonly string[], hostPaths: string[] = []) => {
      const { status, body } = await policyApi('PUT', { allow, hostPaths });
      expect(status, JSON.stringify(body)).toBe(200);
      return body;
    };
    const createKey = async (name: string, policy: string): Promise<TestCredentials> => {
      const response = await signedFetch(
        `${runtime.endpoint}/berth/v1/keys`,
        { method: 'POST', body: JSON.stringify({ name, policy }) },
        runtime.credentials,
      );
      const body = (await response.json()) as Record<string, string>;
      return { accessKeyId: body.accessKeyId, secretAccessKey: body.secretAccessKey };
    };

    beforeAll(async () => {
      runtime = await harness.start();
      ecs = runtime.ecs;
      await ecs.send(new CreateClusterCommand({ clusterName: CLUSTER }));
      fleet = await startRawAgentFleet(runtime.endpoint, CLUSTER, () => runtime.mintJoinToken(CLUSTER), 1);
      // Never fails a start: only records what each host is given.
      fleet.failStarts((task) => {
        given.push(task);
        return false;
      });
      await ecs.send(new RegisterTaskDefinitionCommand(HOST_TAKEOVER));
      await ecs.send(
        new RegisterTaskDefinitionCommand({
          family: 'plain',
          containerDefinitions: [{ name: 'main', image: 'busybox', memory: 16 }],
        }),
      );
    });
    afterAll(async () => {
      fleet?.close();
      await runtime?.close();
    });

    it('denies everything by default', async () => {
      const { status, body } = await policyApi('GET');
      expect(status).toBe(200);
      expect(body).toEqual({
        clusterArn: `arn:aws:ecs:us-east-1:000000000000:cluster/${CLUSTER}`,
        allow: [],
        hostPaths: [],
      });
      const refused = await errorOf(
        ecs.send(new RunTaskCommand({ cluster: CLUSTER, taskDefinition: 'takeover' })),
      );
      expect(refused.name).toBe('ClientException');
      expect(refused.message).toMatch(
        /^networkMode: networkMode 'host' is not allowed in cluster 'policy-a'/,
      );
    });

    it('names each denied field and the setting that would allow it, at RunTask, StartTask and CreateService', async () => {
      const [instanceArn] = (await ecs.send(new ListContainerInstancesCommand({ cluster: CLUSTER })))
        .containerInstanceArns!;
      for (const { setting, field } of DENIALS) {
        const others = ALL_SETTINGS.filter((s) => s !== setting);
        await putPolicy(others, ['/srv/berth-data']);
        const expected = `--allow ${setting}`;
        // Thunks: each call starts only when awaited, so no refusal goes unhandled meanwhile.
        for (const call of [
          () => ecs.send(new RunTaskCommand({ cluster: CLUSTER, taskDefinition: 'takeover' })),
          () =>
            ecs.send(
              new StartTaskCommand({
                cluster: CLUSTER,
                taskDefinition: 'takeover',
                containerInstances: [instanceArn],
              }),
            ),
          () =>
            ecs.send(
              new CreateServiceCommand({
                cluster: CLUSTER,
                serviceName: `svc-${setting}`,
                taskDefinition: 'takeover',
                desiredCount: 1,
              }),
            ),
        ]) {
          const refused = await errorOf(call());
          expect(refused.name).toBe('ClientException');
          expect(refused.message.startsWith(`${field}: `), refused.message).toBe(true);
          expect(refused.message).toContain('`npx berth cluster-policy --cluster policy-a');
          expect(refused.message).toContain(expected);
        }
      }
      // The host path: every setting allowed, the data path not.
      await putPolicy(ALL_SETTINGS, ['/srv/other']);
      const refused = await errorOf(
        ecs.send(new RunTaskCommand({ cluster: CLUSTER, taskDefinition: 'takeover' })),
      );
      expect(refused.message).toMatch(
        /^volumes\[0\]\.host\.sourcePath: a host bind volume \('\/srv\/berth-data\/app'\)/,
      );
      expect(refused.message).toContain("outside the cluster's allowed host paths (/srv/other)");
      expect(refused.message).toContain('--host-path /srv/berth-data/app');
      expect(given).toEqual([]);
    });

    it('runs what the policy allows, and gives the host what it needs to apply it', async () => {
      await putPolicy(ALL_SETTINGS, ['/srv/berth-data']);
      const out = await ecs.send(new RunTaskCommand({ cluster: CLUSTER, taskDefinition: 'takeover' }));
      expect(out.failures).toEqual([]);
      const taskArn = out.tasks![0].taskArn!;
      await waitFor('the host to be given the task', () => given.some((task) => task.taskArn === taskArn));
      const task = given.find((t) => t.taskArn === taskArn)!;
      expect(task.networkMode).toBe('host');
      expect(task.containers[0].hostAccess).toEqual({
        privileged: true,
        pidMode: 'host',
        ipcMode: 'host',
        capAdd: ['NET_ADMIN'],
        devices: [{ hostPath: '/dev/zero', containerPath: '/dev/zero2', permissions: ['read'] }],
        mounts: [
          { sourcePath: '/srv/berth-data/app', containerPath: '/data', readOnly: false },
          { sourcePath: '/var/run/docker.sock', containerPath: '/var/run/docker.sock', readOnly: true },
        ],
        allowedHostPaths: ['/srv/berth-data'],
        dockerSocket: true,
      });
      // A task that asks for nothing carries nothing.
      const plain = await ecs.send(new RunTaskCommand({ cluster: CLUSTER, taskDefinition: 'plain' }));
      const plainArn = plain.tasks![0].taskArn!;
      await waitFor('the host to be given the plain task', () => given.some((t) => t.taskArn === plainArn));
      expect(given.find((t) => t.taskArn === plainArn)!.containers[0].hostAccess).toBeUndefined();
    });

    it('refuses a scale-up of a service whose definition a tightened policy now denies, not a scale-down', async () => {
      await putPolicy(ALL_SETTINGS, ['/srv/berth-data']);
      await ecs.send(
        new CreateServiceCommand({
          cluster: CLUSTER,
          serviceName: 'agent',
          taskDefinition: 'takeover',
          desiredCount: 1,
        }),
      );
      await putPolicy(
        ['host-network', 'host-pid', 'host-ipc', 'docker-socket', 'capabilities', 'devices'],
        ['/srv/berth-data'],
      );
      const refused = await errorOf(
        ecs.send(new UpdateServiceCommand({ cluster: CLUSTER, service: 'agent', desiredCount: 2 })),
      );
      expect(refused.name).toBe('ClientException');
      expect(refused.message).toMatch(/^containerDefinitions\[0\]\.privileged: .*--allow privileged/);
      const forced = await errorOf(
        ecs.send(new UpdateServiceCommand({ cluster: CLUSTER, service: 'agent', forceNewDeployment: true })),
      );
      expect(forced.message).toMatch(/^containerDefinitions\[0\]\.privileged: /);
      const down = await ecs.send(
        new UpdateServiceCommand({ cluster: CLUSTER, service: 'agent', desiredCount: 0 }),
      );
      expect(down.service!.desiredCount).toBe(0);
    });

    it('refuses UpdateService to a denied definition, and accepts one that keeps its definition', async () => {
      await putPolicy(ALL_SETTINGS, ['/srv/berth-data']);
      await ecs.send(
        new CreateServiceCommand({
          cluster: CLUSTER,
          serviceName: 'web',
          taskDefinition: 'plain',
          desiredCount: 0,
        }),
      );
      await putPolicy([]);
      const refused = await errorOf(
        ecs.send(new UpdateServiceCommand({ cluster: CLUSTER, service: 'web', taskDefinition: 'takeover' })),
      );
      expect(refused.name).toBe('ClientException');
      expect(refused.message).toMatch(/^networkMode: .*--allow host-network/);
      const same = await ecs.send(
        new UpdateServiceCommand({
          cluster: CLUSTER,
          service: 'web',
          taskDefinition: 'plain',
          desiredCount: 0,
        }),
      );
      expect(same.service!.taskDefinition).toMatch(/task-definition\/plain:1$/);
    });

    it('lets a deployer of the cluster read the policy but not change it', async () => {
      await putPolicy(['devices'], ['/srv/berth-data']);
      const deployer = await createKey('ci-policy', `deployer:${CLUSTER}`);
      const read = await policyApi('GET', undefined, { as: deployer });
      expect(read.status).toBe(200);
      expect(read.body).toMatchObject({ allow: ['devices'], hostPaths: ['/srv/berth-data'] });
      const write = await policyApi('PUT', { allow: ALL_SETTINGS, hostPaths: ['/'] }, { as: deployer });
      expect(write.status).toBe(400);
      expect(write.body.__type).toBe('AccessDeniedException');
      expect(write.body.message).toContain('berth:PutContainerPolicy');
      const readOnly = await createKey('auditor', 'read-only');
      expect((await policyApi('GET', undefined, { as: readOnly })).status).toBe(200);
      expect((await policyApi('PUT', { allow: [] }, { as: readOnly })).body.__type).toBe(
        'AccessDeniedException',
      );
      expect((await policyApi('GET')).body).toMatchObject({
        allow: ['devices'],
        hostPaths: ['/srv/berth-data'],
      });
    });

    it('refuses hostile bodies by field, with a 4xx, and keeps the policy as it was', async () => {
      await putPolicy(['devices'], ['/srv/berth-data']);
      const hostile: [string | object, RegExp][] = [
        ['not json', /^body: not valid JSON$/],
        ['', /^body: not valid JSON$/],
        ['null', /^body: must be a JSON object/],
        ['[]', /^body: must be a JSON object/],
        [{ allow: ['root'] }, /^allow\[0\]: 'root' is not one of privileged, /],
        [{ allow: 'privileged' }, /^allow: must be a list/],
        [{ allow: [{ toString: 'privileged' }] }, /^allow\[0\]: /],
        [{ hostPaths: ['relative'] }, /^hostPaths\[0\]: 'relative' is not an absolute path$/],
        [{ hostPaths: ['/a\u0000b'] }, /^hostPaths\[0\]: must not contain NUL or ':'$/],
        [{ hostPaths: ['/srv:/etc'] }, /^hostPaths\[0\]: must not contain NUL or ':'$/],
        [{ hostPaths: [`/${'x'.repeat(5000)}`] }, /^hostPaths\[0\]: longer than 4096/],
        [{ hostPaths: Array.from({ length: 100 }, (_, i) => `/p${i}`) }, /^hostPaths: at most 64 paths/],
        [{ hostPaths: [7] }, /^hostPaths\[0\]: must be a string$/],
        [{ allow: [], Allow: ['privileged'] }, /^Allow: not a container policy field/],
        ['{"__proto__": {"allow": ["privileged"]}}', /^__proto__: not a container policy field/],
      ];
      for (const [body, message] of hostile) {
        const { status, body: answer } = await policyApi('PUT', body);
        expect(status, JSON.stringify(body).slice(0, 80)).toBe(400);
        expect(answer.__type).toBe('InvalidParameterException');
        expect(answer.message).toMatch(message);
      }
      const unknown = await policyApi('PUT', { allow: [] }, { cluster: 'no-such-cluster' });
      expect([unknown.status, unknown.body.__type]).toEqual([400, 'ClusterNotFoundException']);
      expect((await policyApi('GET', undefined, { cluster: 'no-such-cluster' })).body.__type).toBe(
        'ClusterNotFoundException',
      );
      const badName = await policyApi('GET', undefined, { cluster: 'bad name!' });
      expect([badName.status, badName.body.__type]).toEqual([400, 'InvalidParameterException']);
      expect(badName.body.message).toMatch(/^cluster: /);
      expect((await policyApi('GET')).body).toMatchObject({
        allow: ['devices'],
        hostPaths: ['/srv/berth-data'],
      });
    });
  });
}
