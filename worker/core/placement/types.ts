/**
 * Inputs and outputs of the placement engine. The engine is pure: the caller loads a snapshot of the
 * cluster's container instances, calls `placeTasks`, and persists the result through the cluster's
 * coordinator, which is what keeps two placements from racing for the same resources.
 */
import type { PlacementConstraint, PlacementStrategy } from '../../ecs-types.generated';

export type TransportProtocol = 'tcp' | 'udp';

export interface HostPort {
  port: number;
  protocol: TransportProtocol;
}

export type ContainerInstanceStatus =
  | 'ACTIVE'
  | 'DRAINING'
  | 'INACTIVE'
  | 'REGISTERING'
  | 'DEREGISTERING'
  | 'REGISTRATION_FAILED';

export interface PlacementInstance {
  /** Container instance ARN. */
  arn: string;
  /** Container instance id; the cluster query's `ec2InstanceId` and `instanceId` both read it. */
  id: string;
  status: ContainerInstanceStatus;
  agentConnected: boolean;
  agentVersion: string;
  registeredAtMs: number;
  /** `null` is an attribute registered without a value. */
  attributes: Record<string, string | null>;
  remainingCpu: number;
  remainingMemoryMiB: number;
  /**
   * Static host ports no new task may bind here: the instance's reserved ports (22, 2375, ... by
   * default) and the ports its tasks hold.
   */
  usedHostPorts: HostPort[];
  runningTasksCount: number;
  pendingTasksCount: number;
  /** The group of every task on the instance that has not stopped, one entry per task. */
  taskGroups: string[];
}

/** The model's shapes, as RunTask (and later services) give them; validatePlacement compiles them. */
export type { PlacementConstraint, PlacementStrategy };

export interface PlacementRequest {
  /** Tasks to place; every one needs the resources below. */
  count: number;
  cpu: number;
  memoryMiB: number;
  /** Static host ports only: dynamic (0) host ports never conflict, so the caller leaves them out. */
  hostPorts: HostPort[];
  /** The task group, e.g. `family:web` or `service:web`. */
  group: string;
  /** Applied in order, each one breaking the ties the one before left. Empty means random. */
  strategies: PlacementStrategy[];
  /** Task-definition constraints and call constraints, merged by the caller. */
  constraints: PlacementConstraint[];
  /** Returns a number in [0, 1); injected so tests are deterministic. */
  random: () => number;
}

/**
 * Why a container instance could not take a task. The reasons are the ones ECS reports:
 * `RESOURCE:CPU`, `RESOURCE:MEMORY`, `RESOURCE:PORTS`, `AGENT` (agent disconnected),
 * `MemberOf`, `DistinctInstance`, and `INACTIVE` for any instance whose status is not ACTIVE
 * (ECS uses INACTIVE for deregistered instances; Berth extends it to DRAINING and the
 * registration states, since none of them accepts new tasks). `EMPTY CAPACITY PROVIDER` is a
 * capacity provider of the call's strategy that holds no instance at all (its ARN is the failure's).
 */
export type PlacementFailureReason =
  | 'EMPTY CAPACITY PROVIDER'
  | 'INACTIVE'
  | 'AGENT'
  | 'RESOURCE:CPU'
  | 'RESOURCE:MEMORY'
  | 'RESOURCE:PORTS'
  | 'DistinctInstance'
  | 'MemberOf';

export interface PlacementFailure {
  /** Container instance ARN (a capacity provider's for `EMPTY CAPACITY PROVIDER`). */
  arn: string;
  reason: PlacementFailureReason;
  /** ECS's optional explanation of the failure. */
  detail?: string;
}

export interface PlacementResult {
  placements: { instanceArn: string }[];
  failures: PlacementFailure[];
}
