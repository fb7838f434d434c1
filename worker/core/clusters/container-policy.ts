/**
 * A cluster's container policy: what the tasks it runs may take from their host. Deny by default;
 * an admin allows settings one by one (`npx berth cluster-policy --cluster C --allow privileged`)
 * and host paths for bind mounts (`--host-path /srv/data`).
 *
 * Task definitions are not cluster-bound (as in ECS), so the policy is checked where a definition
 * meets a cluster: RunTask, StartTask, CreateService, UpdateService that would launch tasks, and every
 * task a service scheduler launches (a policy tightened later stops new launches). The check
 * compares normalized paths; symlinks can only be resolved where the path exists, so the agent
 * resolves each bind source on its host and refuses the task when the real path falls outside the
 * allowlist the task carries (agent/tasks/host-paths.ts).
 */
import {
  DOCKER_SOCKET_PATHS,
  exposesDockerSocket,
  isWithin,
  normalizeHostPath,
} from '../../../protocol/host-paths';
import { clientError, invalidParameter } from '../errors';
import {
  type HostAccessFields,
  type HostAccessRequest,
  hostAccessRequests,
} from '../task-definitions/validate-host-access';

export const POLICY_SETTINGS = [
  'privileged',
  'host-network',
  'host-pid',
  'host-ipc',
  'docker-socket',
  'capabilities',
  'devices',
] as const;
export type PolicySetting = (typeof POLICY_SETTINGS)[number];

export interface ContainerPolicy {
  allow: PolicySetting[];
  /** Absolute, normalized host paths (no trailing slash) under which bind mounts may be made. */
  hostPaths: string[];
}

export { normalizeHostPath };

export const EMPTY_CONTAINER_POLICY: ContainerPolicy = { allow: [], hostPaths: [] };

const MAX_HOST_PATHS = 64;
const MAX_PATH_LENGTH = 4096;

const SETTING_OF: Partial<Record<HostAccessRequest['access'], PolicySetting>> = {
  hostNetwork: 'host-network',
  hostPidNamespace: 'host-pid',
  hostIpcNamespace: 'host-ipc',
  privileged: 'privileged',
  addedCapabilities: 'capabilities',
  hostDevices: 'devices',
};

/** The stored policy; a row written before the policy existed, or unreadable JSON, denies everything. */
export function containerPolicyOf(row: { containerPolicyJson?: string | null }): ContainerPolicy {
  try {
    const parsed = JSON.parse(row.containerPolicyJson ?? '{}') as Partial<ContainerPolicy>;
    return {
      allow: (parsed.allow ?? []).filter((s): s is PolicySetting => POLICY_SETTINGS.includes(s)),
      hostPaths: (parsed.hostPaths ?? []).filter((p) => typeof p === 'string'),
    };
  } catch {
    return { ...EMPTY_CONTAINER_POLICY };
  }
}

/** Checks a PUT body (`{"allow": [...], "hostPaths": [...]}`) and returns it normalized, sorted and deduplicated. */
export function validateContainerPolicy(body: unknown): ContainerPolicy {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw invalidParameter('body: must be a JSON object with allow and hostPaths');
  }
  const input = body as Record<string, unknown>;
  for (const key of Object.keys(input)) {
    if (key !== 'allow' && key !== 'hostPaths') {
      throw invalidParameter(`${key.slice(0, 64)}: not a container policy field (allow, hostPaths)`);
    }
  }
  const allow = input.allow ?? [];
  if (!Array.isArray(allow)) throw invalidParameter('allow: must be a list of settings');
  allow.forEach((setting, i) => {
    if (typeof setting !== 'string' || !(POLICY_SETTINGS as readonly string[]).includes(setting)) {
      const shown =
        typeof setting === 'string' ? `'${setting.slice(0, 64)}'` : JSON.stringify(setting)?.slice(0, 64);
      throw invalidParameter(`allow[${i}]: ${shown} is not one of ${POLICY_SETTINGS.join(', ')}`);
    }
  });
  const hostPaths = input.hostPaths ?? [];
  if (!Array.isArray(hostPaths)) throw invalidParameter('hostPaths: must be a list of absolute paths');
  if (hostPaths.length > MAX_HOST_PATHS) {
    throw invalidParameter(`hostPaths: at most ${MAX_HOST_PATHS} paths, got ${hostPaths.length}`);
  }
  const normalized = hostPaths.map((path, i) => {
    const field = `hostPaths[${i}]`;
    if (typeof path !== 'string') throw invalidParameter(`${field}: must be a string`);
    if (path.length > MAX_PATH_LENGTH)
      throw invalidParameter(`${field}: longer than ${MAX_PATH_LENGTH} characters`);
    // A NUL ends the path in the kernel; a colon would split Docker's bind syntax.
    if (/[\0:]/.test(path)) throw invalidParameter(`${field}: must not contain NUL or ':'`);
    const result = normalizeHostPath(path);
    if (result === undefined)
      throw invalidParameter(`${field}: '${path.slice(0, 64)}' is not an absolute path`);
    return result;
  });
  return {
    allow: POLICY_SETTINGS.filter((setting) => allow.includes(setting)),
    hostPaths: [...new Set(normalized)].sort(),
  };
}

/** The CLI command that sets the cluster's current policy plus what is missing (it replaces the whole policy). */
export function policyCommand(
  clusterName: string,
  policy: ContainerPolicy,
  missing: { allow?: PolicySetting; hostPath?: string },
): string {
  const allow = POLICY_SETTINGS.filter((s) => policy.allow.includes(s) || s === missing.allow);
  const hostPaths = missing.hostPath
    ? [...new Set([...policy.hostPaths, missing.hostPath])]
    : policy.hostPaths;
  const quote = (path: string) =>
    /^[A-Za-z0-9_./-]+$/.test(path) ? path : `'${path.replace(/'/g, "'\\''")}'`;
  return [
    `npx berth cluster-policy --cluster ${clusterName}`,
    ...allow.map((s) => `--allow ${s}`),
    ...hostPaths.map((p) => `--host-path ${quote(p)}`),
  ].join(' ');
}

/**
 * The first thing the definition asks of its host that the cluster's policy denies, as a
 * ClientException naming the field and the command that would allow it.
 */
export function enforceContainerPolicy(
  definition: HostAccessFields,
  policy: ContainerPolicy,
  clusterName: string,
): void {
  for (const request of hostAccessRequests(definition)) {
    const denial = denialOf(request, definition, policy, clusterName);
    if (denial) throw clientError(denial);
  }
}

function denialOf(
  request: HostAccessRequest,
  definition: HostAccessFields,
  policy: ContainerPolicy,
  clusterName: string,
): string | undefined {
  const refused = `${request.path}: ${request.setting} is not allowed in cluster '${clusterName}'`;
  if (request.access === 'hostPathVolume') {
    const index = Number(/^volumes\[(\d+)\]/.exec(request.path)?.[1]);
    const sourcePath = normalizeHostPath(definition.volumes?.[index]?.host?.sourcePath ?? '') ?? '';
    const socket = exposesDockerSocket(sourcePath);
    if (socket && !policy.allow.includes('docker-socket')) {
      return (
        `${refused}, because it would hand the containers Docker's socket, which controls the host. ` +
        `To allow it, an admin runs \`${policyCommand(clusterName, policy, { allow: 'docker-socket' })}\`.`
      );
    }
    // With docker-socket allowed, the socket itself needs no host path; a directory holding it still does.
    if (socket && DOCKER_SOCKET_PATHS.includes(sourcePath)) return undefined;
    if (policy.hostPaths.some((root) => isWithin(sourcePath, root))) return undefined;
    const allowed = policy.hostPaths.length ? policy.hostPaths.join(', ') : 'none';
    return (
      `${refused}, because it is outside the cluster's allowed host paths (${allowed}). ` +
      `To allow it, an admin runs \`${policyCommand(clusterName, policy, { hostPath: sourcePath })}\`.`
    );
  }
  const setting = SETTING_OF[request.access];
  if (setting && policy.allow.includes(setting)) return undefined;
  if (!setting) return `${refused}: no cluster policy setting allows it.`;
  return (
    `${refused}, because ${request.risk}. ` +
    `To allow it, an admin runs \`${policyCommand(clusterName, policy, { allow: setting })}\`.`
  );
}
