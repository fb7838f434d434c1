/**
 * Bind mounts are checked where their paths exist: the control plane compared the paths the task
 * definition wrote, but only this host knows where its symlinks lead. Before a container is created
 * each source is resolved (fs.realpath) and must land under the allowlist the task carries (itself
 * resolved the same way), or be Docker's socket when the policy allows it. The container gets the
 * resolved path, so a link swapped after the check cannot redirect the mount.
 */
import { readlink, realpath } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import {
  DOCKER_SOCKET_PATHS,
  exposesDockerSocket,
  isWithin,
  normalizeHostPath,
} from '../../protocol/host-paths';
import type { ContainerSpec } from '../../protocol/task-frames';
import { TaskStartFailure } from './dependencies';

/**
 * The real path of `path`. For a path that does not exist yet (Docker creates it), its nearest
 * existing parent's real path plus the rest; a dangling link is followed to where it points, so
 * it cannot stand for a place outside the allowlist that Docker would create.
 */
export async function resolveOnHost(path: string, linksLeft = 40): Promise<string> {
  try {
    return await realpath(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    if (linksLeft <= 0) throw new Error(`too many levels of symbolic links at '${path}'`);
    const link = await readlink(path).catch(() => undefined);
    if (link !== undefined) return resolveOnHost(resolve(dirname(path), link), linksLeft - 1);
    const parent = dirname(path);
    if (parent === path) throw error;
    return join(await resolveOnHost(parent, linksLeft), basename(path));
  }
}

/** Docker's socket as this agent reaches it (DOCKER_HOST's unix path, else the default ones). */
function dockerSocketPaths(): string[] {
  const host = process.env.DOCKER_HOST;
  const own = host?.startsWith('unix://') ? [host.slice('unix://'.length)] : [];
  return [...own, ...DOCKER_SOCKET_PATHS];
}

/**
 * The container's spec with every bind source resolved on this host; a TaskStartFailure (the task
 * stops with the reason) when one resolves outside what the cluster's policy allowed.
 */
export async function resolveHostMounts(container: ContainerSpec): Promise<ContainerSpec> {
  const access = container.hostAccess;
  if (!access?.mounts?.length) return container;
  const refuse = (message: string) =>
    new TaskStartFailure(`CannotCreateContainerError: ${message}`, [container.name]);
  const sockets = await Promise.all(dockerSocketPaths().map(resolveOnHost));
  const roots = await Promise.all((access.allowedHostPaths ?? []).map(resolveOnHost));
  const mounts = [];
  for (const mount of access.mounts) {
    let resolved: string;
    try {
      resolved = normalizeHostPath(await resolveOnHost(mount.sourcePath)) ?? mount.sourcePath;
    } catch (error) {
      throw refuse(
        `host path '${mount.sourcePath}' cannot be resolved on this host: ${(error as Error).message}`,
      );
    }
    const where =
      resolved === mount.sourcePath
        ? `'${resolved}'`
        : `'${mount.sourcePath}' (which resolves to '${resolved}')`;
    const holdsSocket = exposesDockerSocket(resolved, sockets);
    if (holdsSocket && !access.dockerSocket) {
      throw refuse(
        `host path ${where} exposes Docker's socket, which the cluster's container policy does not allow`,
      );
    }
    const isSocket = holdsSocket && sockets.includes(resolved);
    if (!isSocket && !roots.some((root) => isWithin(resolved, root))) {
      const allowed = roots.length ? roots.join(', ') : 'none';
      throw refuse(`host path ${where} is outside the cluster's allowed host paths (${allowed})`);
    }
    mounts.push({ ...mount, sourcePath: resolved });
  }
  return { ...container, hostAccess: { ...access, mounts } };
}
