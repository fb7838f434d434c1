/**
 * Settings that hand a task part of its host: the host's network, process or IPC namespace, a host
 * path, a privileged container, extra kernel capabilities, host devices, Docker security options.
 *
 * Task definitions are not bound to a cluster (as in ECS), so registration only checks their shape;
 * the cluster's container policy (clusters/container-policy.ts) decides at RunTask, StartTask,
 * CreateService and UpdateService whether a task may have them. Docker security options have no
 * policy setting (they can switch off seccomp and AppArmor) and stay refused at registration.
 * Values that ask for nothing (`privileged: false`, empty lists, `pidMode: task`) ask for no access:
 * the aws cli and Terraform send such defaults.
 */
import { clientError, invalidParameter } from '../errors';
import type { ContainerDefinition, TaskDefinitionFields } from './types';

/** One kind of host access; the cluster's container policy allows them one by one. */
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

/** RegisterTaskDefinition's rule for Docker security options, which no cluster policy allows. */
export function refuseDockerSecurityOptions(containers: ContainerDefinition[]): void {
  for (const request of containers.flatMap((c, i) =>
    containerHostAccessRequests(c, `containerDefinitions[${i}]`),
  )) {
    if (request.access !== 'dockerSecurityOptions') continue;
    throw clientError(
      `${request.path}: ${request.setting} is not allowed, because ${request.risk}; no cluster policy setting allows it.`,
    );
  }
}

/** Docker's capability names without `CAP_`, as ECS lists them for `linuxParameters.capabilities`. */
export const KERNEL_CAPABILITIES = new Set([
  'ALL',
  'AUDIT_CONTROL',
  'AUDIT_WRITE',
  'BLOCK_SUSPEND',
  'CHOWN',
  'DAC_OVERRIDE',
  'DAC_READ_SEARCH',
  'FOWNER',
  'FSETID',
  'IPC_LOCK',
  'IPC_OWNER',
  'KILL',
  'LEASE',
  'LINUX_IMMUTABLE',
  'MAC_ADMIN',
  'MAC_OVERRIDE',
  'MKNOD',
  'NET_ADMIN',
  'NET_BIND_SERVICE',
  'NET_BROADCAST',
  'NET_RAW',
  'SETFCAP',
  'SETGID',
  'SETPCAP',
  'SETUID',
  'SYS_ADMIN',
  'SYS_BOOT',
  'SYS_CHROOT',
  'SYS_MODULE',
  'SYS_NICE',
  'SYS_PACCT',
  'SYS_PTRACE',
  'SYS_RAWIO',
  'SYS_RESOURCE',
  'SYS_TIME',
  'SYS_TTY_CONFIG',
  'SYSLOG',
  'WAKE_ALARM',
]);

const VOLUME_NAME = /^[A-Za-z0-9_-]{1,255}$/;
const DEVICE_PERMISSIONS = new Set(['read', 'write', 'mknod']);
const MAX_PATH_LENGTH = 4096;

/** An absolute path Docker's bind syntax can carry: no NUL, no ':' (which would split `source:target:options`). */
function checkAbsolutePath(value: unknown, field: string): void {
  if (typeof value !== 'string' || value === '')
    throw invalidParameter(`${field}: required field is missing`);
  if (!value.startsWith('/'))
    throw invalidParameter(`${field}: '${value.slice(0, 64)}' is not an absolute path`);
  if (value.length > MAX_PATH_LENGTH)
    throw invalidParameter(`${field}: longer than ${MAX_PATH_LENGTH} characters`);
  if (/[\0:]/.test(value)) throw invalidParameter(`${field}: must not contain NUL or ':'`);
}

/**
 * The shape of what can ask for host access, checked at registration whatever a cluster's policy
 * says: volume names and host paths, mount points naming a volume of the definition, devices,
 * capability names.
 */
export function validateHostAccessShape(definition: HostAccessFields): void {
  const volumeNames = new Set<string>();
  (definition.volumes ?? []).forEach((volume, i) => {
    const field = `volumes[${i}]`;
    if (volume === null || typeof volume !== 'object' || Array.isArray(volume)) {
      throw invalidParameter(`${field}: expected an object`);
    }
    if (typeof volume.name !== 'string' || !VOLUME_NAME.test(volume.name)) {
      throw invalidParameter(
        `${field}.name: up to 255 letters, numbers, underscores and hyphens are required`,
      );
    }
    if (volumeNames.has(volume.name)) {
      throw clientError(
        `${field}.name: volume names must be unique within a task definition ('${volume.name}' is used twice)`,
      );
    }
    volumeNames.add(volume.name);
    const sourcePath = volume.host?.sourcePath;
    if (sourcePath !== undefined && sourcePath !== null && sourcePath !== '') {
      checkAbsolutePath(sourcePath, `${field}.host.sourcePath`);
    }
  });
  definition.containerDefinitions.forEach((container, i) => {
    const path = `containerDefinitions[${i}]`;
    (container.mountPoints ?? []).forEach((mount, j) => {
      const field = `${path}.mountPoints[${j}]`;
      if (typeof mount?.sourceVolume !== 'string' || !volumeNames.has(mount.sourceVolume)) {
        throw clientError(
          `${field}.sourceVolume: '${String(mount?.sourceVolume).slice(0, 64)}' is not the name of a volume of this task definition`,
        );
      }
      checkAbsolutePath(mount.containerPath, `${field}.containerPath`);
    });
    (container.linuxParameters?.devices ?? []).forEach((device, j) => {
      const field = `${path}.linuxParameters.devices[${j}]`;
      checkAbsolutePath(device?.hostPath, `${field}.hostPath`);
      if (device.containerPath !== undefined)
        checkAbsolutePath(device.containerPath, `${field}.containerPath`);
      (device.permissions ?? []).forEach((permission, k) => {
        if (!DEVICE_PERMISSIONS.has(permission)) {
          throw invalidParameter(
            `${field}.permissions[${k}]: '${String(permission).slice(0, 32)}' is not one of read, write, mknod`,
          );
        }
      });
    });
    (container.linuxParameters?.capabilities?.add ?? []).forEach((capability, j) => {
      if (!KERNEL_CAPABILITIES.has(capability)) {
        throw invalidParameter(
          `${path}.linuxParameters.capabilities.add[${j}]: '${String(capability).slice(0, 32)}' is not a kernel capability ECS knows (e.g. NET_ADMIN, SYS_PTRACE)`,
        );
      }
    });
  });
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
