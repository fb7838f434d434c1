import { describe, expect, it } from 'vitest';
import { EcsError } from '../../worker/core/errors';
import type {
  ContainerDefinition,
  RegisterTaskDefinitionInput,
} from '../../worker/core/task-definitions/types';
import { validateTaskDefinitionInput } from '../../worker/core/task-definitions/validate';
import { hostAccessRequests } from '../../worker/core/task-definitions/validate-host-access';

const container = (overrides: Partial<ContainerDefinition> = {}): ContainerDefinition => ({
  name: 'app',
  image: 'busybox:latest',
  memory: 64,
  ...overrides,
});

const taskDefinition = (
  overrides: Partial<RegisterTaskDefinitionInput> = {},
  containers: ContainerDefinition[] = [container()],
): RegisterTaskDefinitionInput => ({ family: 'app', containerDefinitions: containers, ...overrides });

function rejection(input: RegisterTaskDefinitionInput): EcsError {
  try {
    validateTaskDefinitionInput(input);
  } catch (error) {
    if (error instanceof EcsError) return error;
    throw error;
  }
  throw new Error('expected the task definition to be rejected');
}

describe('settings that reach into the host, at registration', () => {
  it('registers them: task definitions are not bound to a cluster, whose policy decides at launch', () => {
    const input = taskDefinition(
      {
        networkMode: 'host',
        pidMode: 'host',
        ipcMode: 'host',
        volumes: [{ name: 'docker', host: { sourcePath: '/var/run/docker.sock' } }],
      },
      [
        container({
          privileged: true,
          mountPoints: [{ sourceVolume: 'docker', containerPath: '/var/run/docker.sock', readOnly: true }],
          linuxParameters: {
            capabilities: { add: ['SYS_ADMIN', 'NET_ADMIN'] },
            devices: [{ hostPath: '/dev/fuse', containerPath: '/dev/fuse', permissions: ['read', 'write'] }],
          },
        }),
      ],
    );
    expect(() => validateTaskDefinitionInput(input)).not.toThrow();
  });

  it.each([
    {
      field: 'volumes[0].host.sourcePath',
      input: taskDefinition({ volumes: [{ name: 'data', host: { sourcePath: 'relative/dir' } }] }),
      message: "volumes[0].host.sourcePath: 'relative/dir' is not an absolute path",
      name: 'InvalidParameterException',
    },
    {
      field: 'volumes[0].host.sourcePath',
      input: taskDefinition({ volumes: [{ name: 'data', host: { sourcePath: '/srv/a:/etc' } }] }),
      message: "volumes[0].host.sourcePath: must not contain NUL or ':'",
      name: 'InvalidParameterException',
    },
    {
      field: 'volumes[1].name',
      input: taskDefinition({
        volumes: [
          { name: 'data', host: {} },
          { name: 'data', host: {} },
        ],
      }),
      message: "volumes[1].name: volume names must be unique within a task definition ('data' is used twice)",
      name: 'ClientException',
    },
    {
      field: 'volumes[0].name',
      input: taskDefinition({ volumes: [{ host: { sourcePath: '/srv' } }] }),
      message: 'volumes[0].name: up to 255 letters, numbers, underscores and hyphens are required',
      name: 'InvalidParameterException',
    },
    {
      field: 'mountPoints[0].sourceVolume',
      input: taskDefinition({}, [
        container({ mountPoints: [{ sourceVolume: 'nope', containerPath: '/data' }] }),
      ]),
      message:
        "containerDefinitions[0].mountPoints[0].sourceVolume: 'nope' is not the name of a volume of this task definition",
      name: 'ClientException',
    },
    {
      field: 'mountPoints[0].containerPath',
      input: taskDefinition({ volumes: [{ name: 'data', host: { sourcePath: '/srv' } }] }, [
        container({ mountPoints: [{ sourceVolume: 'data' }] }),
      ]),
      message: 'containerDefinitions[0].mountPoints[0].containerPath: required field is missing',
      name: 'InvalidParameterException',
    },
    {
      field: 'devices[0].hostPath',
      input: taskDefinition({}, [container({ linuxParameters: { devices: [{ hostPath: 'dev/zero' }] } })]),
      message:
        "containerDefinitions[0].linuxParameters.devices[0].hostPath: 'dev/zero' is not an absolute path",
      name: 'InvalidParameterException',
    },
    {
      field: 'devices[0].permissions[1]',
      input: taskDefinition({}, [
        container({
          linuxParameters: {
            devices: [{ hostPath: '/dev/zero', permissions: ['read', 'execute' as never] }],
          },
        }),
      ]),
      message:
        "containerDefinitions[0].linuxParameters.devices[0].permissions[1]: 'execute' is not one of read, write, mknod",
      name: 'InvalidParameterException',
    },
    {
      field: 'capabilities.add[1]',
      input: taskDefinition({}, [
        container({ linuxParameters: { capabilities: { add: ['NET_ADMIN', 'CAP_EVERYTHING'] } } }),
      ]),
      message:
        "containerDefinitions[0].linuxParameters.capabilities.add[1]: 'CAP_EVERYTHING' is not a kernel capability ECS knows (e.g. NET_ADMIN, SYS_PTRACE)",
      name: 'InvalidParameterException',
    },
  ])('checks the shape of $field', ({ input, message, name }) => {
    const error = rejection(input);
    expect(error.errorName).toBe(name);
    expect(error.message).toBe(message);
  });

  it('still refuses Docker security options, which no cluster policy setting allows', () => {
    const error = rejection(
      taskDefinition({}, [container({ dockerSecurityOptions: ['seccomp=unconfined'] })]),
    );
    expect(error.errorName).toBe('ClientException');
    expect(error.message).toBe(
      'containerDefinitions[0].dockerSecurityOptions: setting Docker security options (seccomp=unconfined) ' +
        "is not allowed, because they can lift the container's confinement (seccomp, AppArmor, SELinux); " +
        'no cluster policy setting allows it.',
    );
  });

  it('names the container that asks, by its index', () => {
    const input = taskDefinition({}, [
      container(),
      container({ name: 'sidecar', dockerSecurityOptions: ['x'] }),
    ]);
    expect(rejection(input).message).toMatch(/^containerDefinitions\[1\]\.dockerSecurityOptions: /);
  });

  it('accepts the harmless defaults the aws cli and Terraform send', () => {
    const input = taskDefinition(
      {
        networkMode: 'bridge',
        pidMode: 'task',
        ipcMode: 'none',
        volumes: [
          { name: 'scratch', host: {} },
          { name: 'empty', host: { sourcePath: '' } },
        ],
      },
      [
        container({
          privileged: false,
          dockerSecurityOptions: [],
          linuxParameters: { capabilities: { add: [], drop: [] }, devices: [], initProcessEnabled: true },
        }),
      ],
    );
    expect(() => validateTaskDefinitionInput(input)).not.toThrow();
    expect(() => validateTaskDefinitionInput(taskDefinition({ ipcMode: 'task' }))).not.toThrow();
  });

  it('refuses dropped capabilities as unsupported, since the container would silently keep them', () => {
    const error = rejection(
      taskDefinition({}, [container({ linuxParameters: { capabilities: { drop: ['NET_RAW'] } } })]),
    );
    expect(error.errorName).toBe('InvalidParameterException');
    expect(error.message).toBe(
      'containerDefinitions[0].linuxParameters.capabilities.drop: dropping kernel capabilities (NET_RAW) ' +
        'is not supported by Berth yet, so the container would keep them. ' +
        "Remove the setting to run with Docker's default capabilities.",
    );
  });

  it('lists every request, task-level fields first, so the cluster policy can weigh each one', () => {
    const requests = hostAccessRequests(
      taskDefinition(
        { networkMode: 'host', pidMode: 'host', volumes: [{ name: 'etc', host: { sourcePath: '/etc' } }] },
        [
          container({ privileged: true, dockerSecurityOptions: ['apparmor:unconfined'] }),
          container({ name: 'tools', linuxParameters: { devices: [{ hostPath: '/dev/kvm' }] } }),
        ],
      ),
    );
    expect(requests.map(({ access, path }) => [access, path])).toEqual([
      ['hostNetwork', 'networkMode'],
      ['hostPidNamespace', 'pidMode'],
      ['hostPathVolume', 'volumes[0].host.sourcePath'],
      ['privileged', 'containerDefinitions[0].privileged'],
      ['dockerSecurityOptions', 'containerDefinitions[0].dockerSecurityOptions'],
      ['hostDevices', 'containerDefinitions[1].linuxParameters.devices'],
    ]);
  });
});
