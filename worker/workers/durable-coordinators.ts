/**
 * The Workers CoordinatorDirectory: each cluster's coordinator is a Durable Object named after the
 * cluster (worker/index.ts makes the stub). The API calls it over RPC exactly as it calls the
 * in-process coordinator on Node; only the cluster name and ECS errors need carrying across.
 */
import type { CoordinatorClient, CoordinatorDirectory } from '../api/coordinator-directory';
import type { CoordinatorRpc } from './coordinator-object-host';
import { unwrap } from './rpc-outcome';

export class DurableCoordinators implements CoordinatorDirectory {
  /** `stubFor` is cheap: a stub makes no call until one of its methods is called. */
  constructor(private readonly stubFor: (clusterName: string) => CoordinatorRpc) {}

  forCluster(clusterName: string): CoordinatorClient {
    const stub = this.stubFor(clusterName);
    return {
      runTask: (input) => unwrap(stub.runTask(clusterName, input)),
      startTask: (input) => unwrap(stub.startTask(clusterName, input)),
      stopTask: (input) => unwrap(stub.stopTask(clusterName, input)),
      updateContainerInstancesState: (input) =>
        unwrap(stub.updateContainerInstancesState(clusterName, input)),
      deregisterContainerInstance: (input) => unwrap(stub.deregisterContainerInstance(clusterName, input)),
      putAttributes: (input) => unwrap(stub.putAttributes(clusterName, input)),
      deleteAttributes: (input) => unwrap(stub.deleteAttributes(clusterName, input)),
      openTaskEventStream: (afterEventId) => unwrap(stub.openTaskEventStream(clusterName, afterEventId)),
    };
  }
}
