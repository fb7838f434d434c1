/**
 * The Workers CoordinatorDirectory: each cluster's coordinator is a Durable Object named after the
 * cluster (worker/index.ts makes the stub). The API calls it over RPC exactly as it calls the
 * in-process coordinator on Node; only the cluster name and ECS errors need carrying across.
 *
 * An object is only ever addressed for a cluster that exists: every name would otherwise be an
 * object of its own, and a loop over unique unknown names would create objects without bound.
 */
import {
  type CoordinatorClient,
  type CoordinatorDirectory,
  clientResolvedPerCall,
} from '../../api/coordinator-directory';
import type { CommandInput, CommandName, CommandOutput } from '../../core/cluster/commands';
import { requireCluster } from '../../core/clusters/clusters';
import type { CoreDeps } from '../../core/deps';
import type { CoordinatorRpc } from './coordinator-object-host';
import { unwrap } from './rpc-outcome';

/**
 * Names of clusters seen to exist, per isolate, so a call costs a database read only the first
 * time. Bounded by the clusters that really exist (never by what callers send); past the cap it
 * starts over, which only costs reads again.
 */
const KNOWN_CLUSTERS_CAP = 10_000;
const knownClusters = new Set<string>();

export class DurableCoordinators implements CoordinatorDirectory {
  /** `stubFor` is cheap: a stub makes no call until one of its methods is called. */
  constructor(
    private readonly deps: CoreDeps,
    private readonly stubFor: (clusterName: string) => CoordinatorRpc,
  ) {}

  forCluster(clusterName: string): CoordinatorClient {
    return clientResolvedPerCall(async () => {
      if (!knownClusters.has(clusterName)) {
        // ClusterNotFoundException here, before any object is addressed.
        await requireCluster(this.deps, clusterName);
        if (knownClusters.size >= KNOWN_CLUSTERS_CAP) knownClusters.clear();
        knownClusters.add(clusterName);
      }
      return this.stubClient(clusterName);
    });
  }

  private stubClient(clusterName: string): CoordinatorClient {
    const stub = this.stubFor(clusterName);
    return {
      execute: <K extends CommandName>(name: K, input: CommandInput<K>) =>
        unwrap(stub.execute(clusterName, name, input)) as Promise<CommandOutput<K>>,
      openTaskEventStream: (afterEventId) => unwrap(stub.openTaskEventStream(clusterName, afterEventId)),
      openExecStream: (input) => unwrap(stub.openExecStream(clusterName, input)),
      openLogStream: (input) => unwrap(stub.openLogStream(clusterName, input)),
      terminateExecSession: (sessionId) => unwrap(stub.terminateExecSession(clusterName, sessionId)),
    };
  }
}
