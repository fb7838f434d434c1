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

const POLICY = 'A later cluster policy will be able to allow it.';

describe('settings that reach into the host', () => {
  it.each([
    {
      asking: 'a host network',
      input: taskDefinition({ networkMode: 'host' }),
      message:
        "networkMode: networkMode 'host' is not allowed, because the task would share the host's network, " +
        "including services on its loopback such as the control plane's API on 127.0.0.1 (use bridge or none). " +
        POLICY,
    },
    {
      asking: "the host's process namespace",
      input: taskDefinition({ pidMode: 'host' }),
      message:
        "pidMode: pidMode 'host' is not allowed, because the containers would see and signal every process " +
        `of the host. ${POLICY}`,
    },
    {
      asking: "the host's IPC namespace",
      input: taskDefinition({ ipcMode: 'host' }),
      message:
        "ipcMode: ipcMode 'host' is not allowed, because the containers would share the host's shared memory, " +
        `semaphores and message queues. ${POLICY}`,
    },
    {
      asking: 'a host path',
      input: taskDefinition({
        volumes: [
          { name: 'scratch', host: {} },
          { name: 'docker', host: { sourcePath: '/var/run/docker.sock' } },
        ],
      }),
      message:
        "volumes[1].host.sourcePath: a host bind volume ('/var/run/docker.sock') is not allowed, because it " +
        `would mount a path of the host into the containers. ${POLICY}`,
    },
    {
      asking: 'a privileged container',
      input: taskDefinition({}, [container({ privileged: true })]),
      message:
        'containerDefinitions[0].privileged: privileged: true is not allowed, because a privileged container ' +
        `holds every kernel capability and the host's devices. ${POLICY}`,
    },
    {
      asking: 'added kernel capabilities',
      input: taskDefinition({}, [
        container({ linuxParameters: { capabilities: { add: ['SYS_ADMIN', 'NET_ADMIN'] } } }),
      ]),
      message:
        'containerDefinitions[0].linuxParameters.capabilities.add: adding kernel capabilities ' +
        `(SYS_ADMIN, NET_ADMIN) is not allowed, because they widen what the container can do to the host. ${POLICY}`,
    },
    {
      asking: 'host devices',
      input: taskDefinition({}, [container({ linuxParameters: { devices: [{ hostPath: '/dev/fuse' }] } })]),
      message:
        'containerDefinitions[0].linuxParameters.devices: mapping host devices (/dev/fuse) is not allowed, ' +
        `because they give the container the host's hardware. ${POLICY}`,
    },
    {
      asking: 'Docker security options',
      input: taskDefinition({}, [container({ dockerSecurityOptions: ['seccomp=unconfined'] })]),
      message:
        'containerDefinitions[0].dockerSecurityOptions: setting Docker security options (seccomp=unconfined) ' +
        `is not allowed, because they can lift the container's confinement (seccomp, AppArmor, SELinux). ${POLICY}`,
    },
  ])('refuses $asking with a ClientException that names the field', ({ input, message }) => {
    const error = rejection(input);
    expect(error.errorName).toBe('ClientException');
    expect(error.message).toBe(message);
  });

  it('names the container that asks, by its index', () => {
    const input = taskDefinition({}, [container(), container({ name: 'sidecar', privileged: true })]);
    expect(rejection(input).message).toMatch(/^containerDefinitions\[1\]\.privileged: /);
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

  it('lists every request, task-level fields first, so a later policy can weigh each one', () => {
    const requests = hostAccessRequests(
      taskDefinition({ networkMode: 'host', pidMode: 'host', volumes: [{ host: { sourcePath: '/etc' } }] }, [
        container({ privileged: true, dockerSecurityOptions: ['apparmor:unconfined'] }),
        container({ name: 'tools', linuxParameters: { devices: [{ hostPath: '/dev/kvm' }] } }),
      ]),
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
