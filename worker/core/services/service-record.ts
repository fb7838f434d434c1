/**
 * A service row as ECS's `Service` shape, its deployments as `Deployment`s, its ARN and the ids of
 * its deployments. Counts (running, pending, per deployment) come from the service's tasks.
 */
import type { ServiceDeploymentRow, ServiceRow, TaskRow } from '../../../db/schema';
import type {
  CapacityProviderStrategyItem,
  Deployment,
  DeploymentConfiguration,
  PlacementConstraint,
  PlacementStrategy,
  Service,
  ServiceEvent,
  Tag,
} from '../../ecs-types.generated';
import { type ArnScope, parseEcsArn } from '../arn';
import type { CoreDeps } from '../deps';
import { EcsError } from '../errors';
import { epochSeconds } from '../time';

export const serviceArn = (scope: ArnScope, cluster: string, name: string) =>
  `arn:aws:ecs:${scope.region}:${scope.accountId}:service/${cluster}/${name}`;

/** The group every task of a service carries, as in ECS. */
export const serviceGroup = (serviceName: string) => `service:${serviceName}`;

/** ECS's deployment ids: `ecs-svc/` and 19 digits. */
export function newDeploymentId(random: () => number): string {
  let digits = String(1 + Math.floor(random() * 9));
  while (digits.length < 19) digits += String(Math.floor(random() * 10));
  return `ecs-svc/${digits}`;
}

/** REPLICA defaults of ECS (ecs-services.md §1): 100 % healthy, 200 % at most. */
export const DEFAULT_MINIMUM_HEALTHY_PERCENT = 100;
export const DEFAULT_MAXIMUM_PERCENT = 200;
/** DAEMON defaults of ECS: the old task on an instance stops before the new one starts. */
export const DAEMON_MINIMUM_HEALTHY_PERCENT = 0;
export const DAEMON_MAXIMUM_PERCENT = 100;

export interface DeploymentBounds {
  minimumHealthyPercent: number;
  maximumPercent: number;
}

export function deploymentConfigurationOf(row: ServiceRow): DeploymentConfiguration & DeploymentBounds {
  return JSON.parse(row.deploymentConfigurationJson) as DeploymentConfiguration & DeploymentBounds;
}

export function deploymentRevisionId(d: Pick<ServiceDeploymentRow, 'id' | 'revisionId'>): string {
  return d.revisionId ?? d.id;
}

export const adoptedOf = (d: Pick<ServiceDeploymentRow, 'adoptedJson'>) =>
  JSON.parse(d.adoptedJson) as string[];

/** Whether a task started by `startedBy` counts for deployment `d` (its own, or adopted by a PRIMARY rollback). */
export function deploymentOwnsTask(
  d: Pick<ServiceDeploymentRow, 'id' | 'status' | 'adoptedJson'>,
  startedBy: string | null,
): boolean {
  if (startedBy === d.id) return true;
  return d.status === 'PRIMARY' && startedBy !== null && adoptedOf(d).includes(startedBy);
}

/** Counts of the service's tasks that have not stopped: RUNNING ones and the others (PENDING). */
export function countTasks(rows: readonly Pick<TaskRow, 'lastStatus' | 'desiredStatus'>[]) {
  let runningCount = 0;
  let pendingCount = 0;
  for (const row of rows) {
    if (row.lastStatus === 'STOPPED') continue;
    if (row.lastStatus === 'RUNNING') runningCount += 1;
    else if (row.desiredStatus === 'RUNNING') pendingCount += 1;
  }
  return { runningCount, pendingCount };
}

export function toEcsDeployment(
  service: ServiceRow,
  deployment: ServiceDeploymentRow,
  tasks: readonly TaskRow[],
): Deployment {
  const own = tasks.filter((t) => deploymentOwnsTask(deployment, t.startedBy));
  const counts = countTasks(own);
  const strategy = JSON.parse(service.capacityProviderStrategyJson) as CapacityProviderStrategyItem[];
  return {
    id: deployment.id,
    status: deployment.status,
    taskDefinition: deployment.taskDefinitionArn,
    // An old deployment wants what it still has; it is drained towards 0.
    desiredCount:
      deployment.status === 'PRIMARY'
        ? service.desiredCount
        : own.filter((t) => t.desiredStatus === 'RUNNING').length,
    ...counts,
    failedTasks: deployment.failedTasks,
    createdAt: epochSeconds(deployment.createdAtMs),
    updatedAt: epochSeconds(deployment.updatedAtMs),
    ...(strategy.length > 0
      ? { capacityProviderStrategy: strategy }
      : { launchType: (service.launchType ?? 'EC2') as Deployment['launchType'] }),
    rolloutState: deployment.rolloutState,
    rolloutStateReason: deployment.rolloutStateReason,
  };
}

export function toEcsService(
  row: ServiceRow,
  clusterArn: string,
  deployments: readonly ServiceDeploymentRow[],
  tasks: readonly TaskRow[],
  options: { tags: boolean },
): Service {
  const strategy = JSON.parse(row.capacityProviderStrategyJson) as CapacityProviderStrategyItem[];
  const shown = deployments
    .filter((d) => d.status !== 'INACTIVE')
    .sort((a, b) =>
      a.status === 'PRIMARY' ? -1 : b.status === 'PRIMARY' ? 1 : b.createdAtMs - a.createdAtMs,
    );
  const { minimumHealthyPercent, maximumPercent, ...rest } = deploymentConfigurationOf(row);
  return {
    serviceArn: row.arn,
    serviceName: row.name,
    clusterArn,
    loadBalancers: [],
    serviceRegistries: [],
    status: row.status,
    desiredCount: row.desiredCount,
    ...countTasks(tasks.filter((t) => t.desiredStatus === 'RUNNING' || t.lastStatus !== 'STOPPED')),
    ...(strategy.length > 0
      ? { capacityProviderStrategy: strategy }
      : { launchType: (row.launchType ?? 'EC2') as Service['launchType'] }),
    taskDefinition: row.taskDefinitionArn,
    deploymentConfiguration: { ...rest, maximumPercent, minimumHealthyPercent },
    deployments: shown.map((d) => toEcsDeployment(row, d, tasks)),
    events: JSON.parse(row.eventsJson) as ServiceEvent[],
    createdAt: epochSeconds(row.createdAtMs),
    placementConstraints: JSON.parse(row.placementConstraintsJson) as PlacementConstraint[],
    placementStrategy: JSON.parse(row.placementStrategyJson) as PlacementStrategy[],
    healthCheckGracePeriodSeconds: row.healthCheckGracePeriodSeconds,
    schedulingStrategy: row.schedulingStrategy as Service['schedulingStrategy'],
    deploymentController: { type: 'ECS' },
    tags: options.tags ? (JSON.parse(row.tagsJson) as Tag[]) : undefined,
    enableECSManagedTags: row.enableEcsManagedTags,
    propagateTags: row.propagateTags as Service['propagateTags'],
    enableExecuteCommand: row.enableExecuteCommand,
    resourceManagementType: 'CUSTOMER',
  };
}

/** The ARN a reference (a name or an ARN) names in this cluster. */
export function serviceArnOf(deps: CoreDeps, clusterName: string, reference: string): string {
  return parseEcsArn(reference) ? reference : serviceArn(deps.config, clusterName, reference);
}

export const serviceNotFound = () => new EcsError('ServiceNotFoundException', 'Service not found.');
