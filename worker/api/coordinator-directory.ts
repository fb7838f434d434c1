import type { ClusterCoordinator } from '../core/coordinator/cluster-coordinator';

/** The coordinator's write operations the API calls, each one async and serializable. */
export const COORDINATOR_METHODS = [
  'runTask',
  'startTask',
  'stopTask',
  'updateContainerInstancesState',
  'deregisterContainerInstance',
  'putAttributes',
  'deleteAttributes',
  'openTaskEventStream',
] as const satisfies readonly (keyof ClusterCoordinator)[];

/** What the API needs of a cluster's coordinator. */
export type CoordinatorClient = Pick<ClusterCoordinator, (typeof COORDINATOR_METHODS)[number]>;

/**
 * Finds the coordinator of a cluster. On Node it is an in-process object; on Workers a stub of the
 * cluster's Durable Object, called over RPC.
 */
export interface CoordinatorDirectory {
  forCluster(clusterName: string): CoordinatorClient;
}

/** A client whose every call first resolves the coordinator (which may refuse: cluster not found). */
export function clientResolvedPerCall(resolve: () => Promise<CoordinatorClient>): CoordinatorClient {
  const client: Record<string, (...args: unknown[]) => Promise<unknown>> = {};
  for (const method of COORDINATOR_METHODS) {
    client[method] = async (...args) => {
      const coordinator = await resolve();
      return (coordinator[method] as (...a: unknown[]) => Promise<unknown>).apply(coordinator, args);
    };
  }
  return client as unknown as CoordinatorClient;
}
