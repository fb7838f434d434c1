import { describe, expect, it } from 'vitest';
import { builtInPolicy, evaluate } from '../../worker/core/auth/policies';
import {
  type ContainerPolicy,
  enforceContainerPolicy,
  validateContainerPolicy,
} from '../../worker/core/clusters/container-policy';
import { EcsError } from '../../worker/core/errors';
import type { ContainerDefinition, TaskDefinitionFields } from '../../worker/core/task-definitions/types';
import type { HostAccessFields } from '../../worker/core/task-definitions/validate-host-access';

const container = (overrides: Partial<ContainerDefinition> = {}): ContainerDefinition => ({
  name: 'app',
  image: 'busybox:latest',
  memory: 64,
  ...overrides,
});

const definition = (
  overrides: Partial<TaskDefinitionFields> = {},
  containers: ContainerDefinition[] = [container()],
): HostAccessFields => ({
  networkMode: 'bridge',
  volumes: [],
  containerDefinitions: containers,
  ...overrides,
});

const policy = (overrides: Partial<ContainerPolicy> = {}): ContainerPolicy => ({
  allow: [],
  hostPaths: [],
  ...overrides,
});

function denial(fields: HostAccessFields, clusterPolicy: ContainerPolicy): EcsError {
  try {
    enforceContainerPolicy(fields, clusterPolicy, 'prod');
  } catch (error) {
    if (error instanceof EcsError) return error;
    throw error;
  }
  throw new Error('expected the policy to deny the definition');
}

const hostVolume = (sourcePath: string) => ({ volumes: [{ name: 'v', host: { sourcePath } }] });

describe('the container policy check', () => {
  it.each([
    {
      setting: 'privileged',
      field: 'containerDefinitions[0].privileged',
      fields: definition({}, [container({ privileged: true })]),
    },
    { setting: 'host-network', field: 'networkMode', fields: definition({ networkMode: 'host' }) },
    { setting: 'host-pid', field: 'pidMode', fields: definition({ pidMode: 'host' }) },
    { setting: 'host-ipc', field: 'ipcMode', fields: definition({ ipcMode: 'host' }) },
    {
      setting: 'capabilities',
      field: 'containerDefinitions[0].linuxParameters.capabilities.add',
      fields: definition({}, [container({ linuxParameters: { capabilities: { add: ['NET_ADMIN'] } } })]),
    },
    {
      setting: 'devices',
      field: 'containerDefinitions[0].linuxParameters.devices',
      fields: definition({}, [container({ linuxParameters: { devices: [{ hostPath: '/dev/zero' }] } })]),
    },
    {
      setting: 'docker-socket',
      field: 'volumes[0].host.sourcePath',
      fields: definition(hostVolume('/var/run/docker.sock')),
    },
  ] as const)(
    'denies $setting by default, naming $field and the setting that allows it',
    ({ setting, field, fields }) => {
      const error = denial(fields, policy());
      expect(error.errorName).toBe('ClientException');
      expect(error.message.startsWith(`${field}: `)).toBe(true);
      expect(error.message).toContain("is not allowed in cluster 'prod'");
      expect(error.message).toContain(`\`npx berth cluster-policy --cluster prod --allow ${setting}\``);
      expect(() => enforceContainerPolicy(fields, policy({ allow: [setting] }), 'prod')).not.toThrow();
    },
  );

  it('suggests a command that keeps what the cluster already allows, since the command replaces the policy', () => {
    const error = denial(
      definition({ networkMode: 'host' }, [container({ privileged: true })]),
      policy({ allow: ['host-network', 'devices'], hostPaths: ['/srv/data'] }),
    );
    expect(error.message).toContain(
      '`npx berth cluster-policy --cluster prod --allow privileged --allow host-network --allow devices --host-path /srv/data`',
    );
  });

  it('allows a bind mount under an allowed host path, compared after normalizing', () => {
    const allowed = policy({ hostPaths: ['/srv/data'] });
    for (const path of [
      '/srv/data',
      '/srv/data/',
      '/srv/data/logs',
      '/srv//data/./logs',
      '/srv/other/../data/x',
    ]) {
      expect(() => enforceContainerPolicy(definition(hostVolume(path)), allowed, 'prod')).not.toThrow();
    }
    for (const path of [
      '/srv/database',
      '/srv',
      '/srv/data/../secrets',
      '/etc/passwd',
      '/srv/data/../../etc',
    ]) {
      const error = denial(definition(hostVolume(path)), allowed);
      expect(error.message).toMatch(/^volumes\[0\]\.host\.sourcePath: a host bind volume/);
      expect(error.message).toContain("outside the cluster's allowed host paths (/srv/data)");
      expect(error.message).toContain('--host-path /srv/data --host-path /');
    }
  });

  it("treats a directory holding Docker's socket as the socket, even under an allowed path", () => {
    const everything = policy({ hostPaths: ['/'] });
    for (const path of ['/', '/var', '/var/run', '/run', '/run/docker.sock', '/var/run/../run/docker.sock']) {
      const error = denial(definition(hostVolume(path)), everything);
      expect(error.message).toContain("it would hand the containers Docker's socket");
      expect(error.message).toContain('--allow docker-socket --host-path /');
    }
    // docker-socket alone allows the socket itself, not the directories around it.
    const socketOnly = policy({ allow: ['docker-socket'] });
    expect(() =>
      enforceContainerPolicy(definition(hostVolume('/run/docker.sock')), socketOnly, 'prod'),
    ).not.toThrow();
    expect(denial(definition(hostVolume('/var/run')), socketOnly).message).toContain(
      'allowed host paths (none)',
    );
    expect(() =>
      enforceContainerPolicy(
        definition(hostVolume('/var/run')),
        policy({ allow: ['docker-socket'], hostPaths: ['/var'] }),
        'prod',
      ),
    ).not.toThrow();
  });

  it('ignores what asks for nothing: a Docker-managed volume, empty lists, privileged false', () => {
    const harmless = definition(
      { pidMode: 'task', ipcMode: 'none', volumes: [{ name: 'scratch', host: {} }] },
      [container({ privileged: false, linuxParameters: { capabilities: { add: [] }, devices: [] } })],
    );
    expect(() => enforceContainerPolicy(harmless, policy(), 'prod')).not.toThrow();
  });

  it('names the first denied field, task-level fields first', () => {
    const fields = definition({ networkMode: 'host', pidMode: 'host' }, [container({ privileged: true })]);
    expect(denial(fields, policy({ allow: ['host-network'] })).message).toMatch(/^pidMode: /);
  });
});

describe('a container policy body', () => {
  it('is normalized, deduplicated and sorted', () => {
    expect(
      validateContainerPolicy({
        allow: ['devices', 'privileged', 'devices'],
        hostPaths: ['/srv/data/', '/opt//x/../y', '/srv/data'],
      }),
    ).toEqual({ allow: ['privileged', 'devices'], hostPaths: ['/opt/y', '/srv/data'] });
    expect(validateContainerPolicy({})).toEqual({ allow: [], hostPaths: [] });
  });

  it.each([
    { body: null, message: 'body: must be a JSON object with allow and hostPaths' },
    { body: [], message: 'body: must be a JSON object with allow and hostPaths' },
    { body: { allow: 'privileged' }, message: 'allow: must be a list of settings' },
    {
      body: { allow: ['privileged', 'root'] },
      message:
        "allow[1]: 'root' is not one of privileged, host-network, host-pid, host-ipc, docker-socket, capabilities, devices",
    },
    {
      body: { allow: [7] },
      message:
        'allow[0]: 7 is not one of privileged, host-network, host-pid, host-ipc, docker-socket, capabilities, devices',
    },
    { body: { hostPaths: '/srv' }, message: 'hostPaths: must be a list of absolute paths' },
    { body: { hostPaths: ['srv/data'] }, message: "hostPaths[0]: 'srv/data' is not an absolute path" },
    { body: { hostPaths: ['/srv', { path: '/x' }] }, message: 'hostPaths[1]: must be a string' },
    { body: { hostPaths: ['/srv\0/x'] }, message: "hostPaths[0]: must not contain NUL or ':'" },
    { body: { hostPaths: ['/a:/b'] }, message: "hostPaths[0]: must not contain NUL or ':'" },
    { body: { hostPaths: [`/${'a'.repeat(5000)}`] }, message: 'hostPaths[0]: longer than 4096 characters' },
    {
      body: { hostPaths: Array.from({ length: 65 }, (_, i) => `/p${i}`) },
      message: 'hostPaths: at most 64 paths, got 65',
    },
    {
      body: { allow: [], __proto__: { x: 1 }, extra: true },
      message: 'extra: not a container policy field (allow, hostPaths)',
    },
  ])('refuses $message', ({ body, message }) => {
    try {
      validateContainerPolicy(body);
      throw new Error('expected a refusal');
    } catch (error) {
      expect(error).toBeInstanceOf(EcsError);
      expect((error as EcsError).errorName).toBe('InvalidParameterException');
      expect((error as EcsError).message).toBe(message);
    }
  });
});

describe('who may read and change a container policy', () => {
  const account = { region: 'us-east-1', accountId: '000000000000' };
  const cluster = 'arn:aws:ecs:us-east-1:000000000000:cluster/prod';
  const decide = (policy: string, action: string, clusterArn = cluster) =>
    evaluate([builtInPolicy(policy, account)!], {
      action,
      resource: clusterArn,
      context: { 'ecs:cluster': clusterArn },
    });

  it('lets only admins put it; read-only keys and the cluster deployer read it', () => {
    expect(decide('admin', 'berth:PutContainerPolicy')).toBe('Allow');
    expect(decide('deployer:prod', 'berth:PutContainerPolicy')).toBe('ImplicitDeny');
    expect(decide('read-only', 'berth:PutContainerPolicy')).toBe('ImplicitDeny');
    expect(decide('deployer:prod', 'berth:DescribeContainerPolicy')).toBe('Allow');
    expect(decide('read-only', 'berth:DescribeContainerPolicy')).toBe('Allow');
    expect(
      decide(
        'deployer:prod',
        'berth:DescribeContainerPolicy',
        'arn:aws:ecs:us-east-1:000000000000:cluster/other',
      ),
    ).toBe('ImplicitDeny');
  });
});
