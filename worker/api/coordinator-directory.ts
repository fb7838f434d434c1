import type { ClusterCoordinator } from '../core/cluster/cluster-coordinator';
import type { CommandInput, CommandName } from '../core/cluster/commands';

/**
 * What the API needs of a cluster's room: `execute` for every write (one of CLUSTER_COMMANDS) and
 * the task-event stream, which runs beside the room's queue. Both are async and serializable, so
 * the same client is an in-process room on Node and a Durable Object stub on Workers.
 */
export type CoordinatorClient = Pick<
  ClusterCoordinator,
  'execute' | 'openTaskEventStream' | 'openExecStream' | 'openLogStream' | 'terminateExecSession'
>;

/** Finds the room of a cluster. */
export interface CoordinatorDirectory {
  forCluster(clusterName: string): CoordinatorClient;
}

/** A client whose every call first resolves the room (which may refuse: cluster not found). */
export function clientResolvedPerCall(resolve: () => Promise<CoordinatorClient>): CoordinatorClient {
  return {
    execute: <K extends CommandName>(name: K, input: CommandInput<K>) =>
      resolve().then((room) => room.execute(name, input)),
    openTaskEventStream: async (afterEventId) => (await resolve()).openTaskEventStream(afterEventId),
    openExecStream: async (input) => (await resolve()).openExecStream(input),
    openLogStream: async (input) => (await resolve()).openLogStream(input),
    terminateExecSession: async (sessionId) => (await resolve()).terminateExecSession(sessionId),
  };
}
