/**
 * Settings that hand a task part of its host: the host's network, process or IPC namespace, a host
 * path, a privileged container, extra kernel capabilities, host devices, Docker security options.
 *
 * Apart from the network mode, none of them reaches Docker today, so accepting one would mislead:
 * a definition that needs the host would run without it and fail in ways nobody expects. The
 * network mode does reach Docker, and is the most dangerous: a host-mode task shares the host's
 * loopback, where a local control plane serves its API without authentication. All are refused by
 * name until a later cluster policy allows them. Values that ask for nothing (`privileged: false`,
 * empty lists, `pidMode: task`) stay accepted: the aws cli and Terraform send such defaults.
 */
import { clientError, invalidParameter } from '../errors';
import type { ContainerDefinition, TaskDefinitionFields } from './types';

/** One kind of host access; a later cluster policy allows them one by one. */
export type HostAccess =
  | 'hostNetwork'
  | 'hostPidNamespace'
  | 'hostIpcNamespace'
  | 'hostPathVolume'
  | 'privileged'
  | 'addedCapabilities'
  | 'hostDevices'
  | 'dockerSecurityOptions';

export interface HostAccessRequest {
  access: HostAccess;
  /** The field that asks for it, e.g. `containerDefinitions[0].privileged`. */
  path: string;
  /** What the field asks for, e.g. `privileged: true`. */
  setting: string;
  /** Why it matters to the host. */
  risk: string;
}

/** The parts of a task definition that can ask for host access; registered input and stored revisions both fit. */
export type HostAccessFields = Pick<
  TaskDefinitionFields,
  'networkMode' | 'pidMode' | 'ipcMode' | 'volumes' | 'containerDefinitions'
>;

/** Every field of the definition that asks for host access, task-level fields first, in field order. */
export function hostAccessRequests(definition: HostAccessFields): HostAccessRequest[] {
  const requests: HostAccessRequest[] = [];
  if (definition.networkMode === 'host') {
    requests.push({
      access: 'hostNetwork',
      path: 'networkMode',
      setting: "networkMode 'host'",
      risk:
        "the task would share the host's network, including services on its loopback such as the " +
        "control plane's API on 127.0.0.1 (use bridge or none)",
    });
  }
  if (definition.pidMode === 'host') {
    requests.push({
      access: 'hostPidNamespace',
      path: 'pidMode',
      setting: "pidMode 'host'",
      risk: 'the containers would see and signal every process of the host',
    });
  }
  if (definition.ipcMode === 'host') {
    requests.push({
      access: 'hostIpcNamespace',
      path: 'ipcMode',
      setting: "ipcMode 'host'",
      risk: "the containers would share the host's shared memory, semaphores and message queues",
    });
  }
  (definition.volumes ?? []).forEach((volume, i) => {
    const sourcePath = volume?.host?.sourcePath;
    // Without a sourcePath, `host: {}` is a volume Docker creates, not a host path.
    if (typeof sourcePath === 'string' && sourcePath !== '') {
      requests.push({
        access: 'hostPathVolume',
        path: `volumes[${i}].host.sourcePath`,
        setting: `a host bind volume ('${sourcePath}')`,
        risk: 'it would mount a path of the host into the containers',
      });
    }
  });
  definition.containerDefinitions.forEach((container, i) => {
    requests.push(...containerHostAccessRequests(container, `containerDefinitions[${i}]`));
  });
  return requests;
}

function containerHostAccessRequests(container: ContainerDefinition, path: string): HostAccessRequest[] {
  const requests: HostAccessRequest[] = [];
  if (container.privileged === true) {
    requests.push({
      access: 'privileged',
      path: `${path}.privileged`,
      setting: 'privileged: true',
      risk: "a privileged container holds every kernel capability and the host's devices",
    });
  }
  const added = container.linuxParameters?.capabilities?.add ?? [];
  if (added.length > 0) {
    requests.push({
      access: 'addedCapabilities',
      path: `${path}.linuxParameters.capabilities.add`,
      setting: `adding kernel capabilities (${added.join(', ')})`,
      risk: 'they widen what the container can do to the host',
    });
  }
  const devices = container.linuxParameters?.devices ?? [];
  if (devices.length > 0) {
    requests.push({
      access: 'hostDevices',
      path: `${path}.linuxParameters.devices`,
      setting: `mapping host devices (${devices.map((device) => device?.hostPath).join(', ')})`,
      risk: "they give the container the host's hardware",
    });
  }
  const securityOptions = container.dockerSecurityOptions ?? [];
  if (securityOptions.length > 0) {
    requests.push({
      access: 'dockerSecurityOptions',
      path: `${path}.dockerSecurityOptions`,
      setting: `setting Docker security options (${securityOptions.join(', ')})`,
      risk: "they can lift the container's confinement (seccomp, AppArmor, SELinux)",
    });
  }
  return requests;
}

export function hostAccessMessage(request: HostAccessRequest): string {
  return (
    `${request.path}: ${request.setting} is not allowed, because ${request.risk}. ` +
    'A later cluster policy will be able to allow it.'
  );
}

/** RegisterTaskDefinition's rule: the first field that asks for host access is a ClientException naming it. */
export function refuseHostAccess(definition: HostAccessFields): void {
  const [first] = hostAccessRequests(definition);
  if (first) throw clientError(hostAccessMessage(first));
}

/**
 * Dropping capabilities takes power away, so it needs no policy, but Berth does not apply it yet:
 * the container would silently keep what its author meant to remove. Refused as unsupported until
 * the agent passes it to Docker.
 */
export function refuseCapabilityDrops(containers: ContainerDefinition[]): void {
  containers.forEach((container, i) => {
    const dropped = container.linuxParameters?.capabilities?.drop ?? [];
    if (dropped.length === 0) return;
    throw invalidParameter(
      `containerDefinitions[${i}].linuxParameters.capabilities.drop: dropping kernel capabilities ` +
        `(${dropped.join(', ')}) is not supported by Berth yet, so the container would keep them. ` +
        "Remove the setting to run with Docker's default capabilities.",
    );
  });
}
