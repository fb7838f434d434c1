/**
 * Host paths as both sides compare them: the control plane checks the paths a task definition
 * wrote against its cluster's allowlist, the agent the same paths after resolving their symlinks.
 */

/** Where Docker's socket lives on the hosts Berth supports (`/var/run` is usually a link to `/run`). */
export const DOCKER_SOCKET_PATHS = ['/var/run/docker.sock', '/run/docker.sock'];

/** `/a//b/../c/` → `/a/c`; undefined for a path that is not absolute. */
export function normalizeHostPath(path: string): string | undefined {
  if (!path.startsWith('/')) return undefined;
  // By hand: the Workers runtime has no node:path. `..` above the root stays at the root, as in the kernel.
  const segments: string[] = [];
  for (const segment of path.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') segments.pop();
    else segments.push(segment);
  }
  return `/${segments.join('/')}`;
}

/** `path` is `root` or lies below it (both normalized). */
export function isWithin(path: string, root: string): boolean {
  return path === root || root === '/' || path.startsWith(`${root}/`);
}

/** Mounting this path hands the container Docker's socket: the socket itself or a directory holding it. */
export function exposesDockerSocket(
  path: string,
  socketPaths: readonly string[] = DOCKER_SOCKET_PATHS,
): boolean {
  return socketPaths.some((socket) => isWithin(socket, path));
}
