import type { ClusterCoordinator } from '../core/coordinator/cluster-coordinator';

/** What the API needs of a cluster's coordinator: its write operations, each one async and serializable. */
export type CoordinatorClient = Pick<
  ClusterCoordinator,
  | 'runTask'
  | 'startTask'
  | 'stopTask'
  | 'updateContainerInstancesState'
  | 'deregisterContainerInstance'
  | 'putAttributes'
  | 'deleteAttributes'
  | 'openTaskEventStream'
>;

/**
 * Finds the coordinator of a cluster. On Node it is an in-process object; on Workers a stub of the
 * cluster's Durable Object, called over RPC.
 */
export interface CoordinatorDirectory {
  forCluster(clusterName: string): CoordinatorClient;
}
