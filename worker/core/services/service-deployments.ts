/**
 * ECS's deployment history (ListServiceDeployments, DescribeServiceDeployments,
 * DescribeServiceRevisions) over the service's deployment rows. In Berth a deployment and its
 * target revision are one row: a revision is created by CreateService and by every update that
 * starts a deployment, and never changes (its task definition, and so its container images, are
 * fixed), so both ARNs end in the digits of the deployment's `ecs-svc/` id. A rollback is a new
 * PRIMARY deployment that reuses the revision it returns to (`revisionId`); it is not a service
 * deployment of its own in this history: the deployment it rolls back shows ROLLBACK_IN_PROGRESS,
 * ROLLBACK_SUCCESSFUL or ROLLBACK_FAILED and carries `rollback`, as in ECS.
 */
import { and, desc, eq, gte, lte, ne } from 'drizzle-orm';
import {
  type ServiceDeploymentRow,
  type ServiceRow,
  serviceDeployments,
  services,
  type TaskRow,
  taskDefinitions,
  tasks,
} from '../../../db/schema';
import type {
  CapacityProviderStrategyItem,
  DescribeServiceDeploymentsRequest,
  DescribeServiceDeploymentsResponse,
  DescribeServiceRevisionsRequest,
  DescribeServiceRevisionsResponse,
  Failure,
  ListServiceDeploymentsRequest,
  ListServiceDeploymentsResponse,
  Rollback,
  ServiceDeployment,
  ServiceDeploymentBrief,
  ServiceDeploymentCircuitBreaker,
  ServiceRevision,
  ServiceRevisionSummary,
} from '../../ecs-types.generated';
import { clusterArn as clusterArnOf, parseEcsArn } from '../arn';
import { clusterNameOf, requireCluster } from '../clusters/clusters';
import type { CoreDeps } from '../deps';
import { invalidParameter } from '../errors';
import { pageResult, readPage } from '../pagination';
import { toTaskDefinition } from '../task-definitions/task-definitions';
import { breakerThreshold, type CircuitBreakerConfig } from './circuit-breaker';
import type { RollbackRecord } from './deployment-failures';
import { rolloutReason } from './service-events';
import {
  countTasks,
  deploymentConfigurationOf,
  deploymentOwnsTask,
  deploymentRevisionId,
  serviceArnOf,
  serviceGroup,
  serviceNotFound,
} from './service-record';

type ServiceDeploymentStatus = NonNullable<ServiceDeployment['status']>;

const digitsOf = (deploymentId: string) => deploymentId.slice('ecs-svc/'.length);

function arnFor(
  kind: 'service-deployment' | 'service-revision',
  service: Pick<ServiceRow, 'arn'>,
  deployment: Pick<ServiceDeploymentRow, 'id'>,
) {
  const parsed = parseEcsArn(service.arn)!;
  return `arn:aws:ecs:${parsed.region}:${parsed.accountId}:${kind}/${parsed.path.join('/')}/${digitsOf(deployment.id)}`;
}

export const serviceDeploymentArn = (service: ServiceRow, d: ServiceDeploymentRow) =>
  arnFor('service-deployment', service, d);
export const serviceRevisionArn = (service: ServiceRow, d: ServiceDeploymentRow) =>
  arnFor('service-revision', service, { id: deploymentRevisionId(d) });

/**
 * IN_PROGRESS while it is the PRIMARY one rolling out; SUCCESSFUL once completed; ROLLBACK_* once
 * rolled back; STOPPED when it failed without rollback, was aborted, or a newer one replaced it first.
 */
export function serviceDeploymentStatus(d: ServiceDeploymentRow): ServiceDeploymentStatus {
  if (d.outcome) return d.outcome;
  if (d.rolloutState === 'COMPLETED') return 'SUCCESSFUL';
  return d.status === 'PRIMARY' && d.rolloutState === 'IN_PROGRESS' ? 'IN_PROGRESS' : 'STOPPED';
}

/** The breaker's view of a deployment: DISABLED, MONITORING while in progress, TRIGGERED if it failed it. */
function breakerOf(service: ServiceRow, d: ServiceDeploymentRow): ServiceDeploymentCircuitBreaker {
  const config = deploymentConfigurationOf(service).deploymentCircuitBreaker as
    | CircuitBreakerConfig
    | undefined;
  const threshold = breakerThreshold(config, service.desiredCount);
  const failureCount = d.failedTasks;
  if (d.rolloutState === 'FAILED' && d.rolloutStateReason === rolloutReason.circuitBreaker) {
    return { status: 'TRIGGERED', failureCount, threshold };
  }
  if (!config?.enable) return { status: 'DISABLED', failureCount, threshold: 0 };
  const monitoring = d.status === 'PRIMARY' && d.rolloutState === 'IN_PROGRESS';
  return { status: monitoring ? 'MONITORING' : 'MONITORING_COMPLETE', failureCount, threshold };
}

function rollbackOf(service: ServiceRow, d: ServiceDeploymentRow): Rollback | undefined {
  if (!d.rollbackJson) return undefined;
  const record = JSON.parse(d.rollbackJson) as RollbackRecord;
  return {
    reason: record.reason,
    startedAt: record.startedAtMs / 1000,
    serviceRevisionArn: arnFor('service-revision', service, { id: record.revisionId }),
  };
}

function revisionSummary(
  service: ServiceRow,
  d: ServiceDeploymentRow,
  live: readonly TaskRow[],
): ServiceRevisionSummary {
  const own = live.filter((t) => deploymentOwnsTask(d, t.startedBy));
  const { runningCount, pendingCount } = countTasks(own);
  return {
    arn: serviceRevisionArn(service, d),
    requestedTaskCount:
      d.status === 'PRIMARY' ? service.desiredCount : own.filter((t) => t.desiredStatus === 'RUNNING').length,
    runningTaskCount: runningCount,
    pendingTaskCount: pendingCount,
  };
}

/** `currentServiceDeployment` and `currentServiceRevisions` of a described service. */
export function currentDeploymentFields(
  service: ServiceRow,
  deployments: readonly ServiceDeploymentRow[],
  live: readonly TaskRow[],
) {
  const primary = deployments.find((d) => d.status === 'PRIMARY');
  return {
    // During a rollback the service deployment in progress is the one being rolled back.
    currentServiceDeployment: primary
      ? arnFor('service-deployment', service, { id: primary.rollbackOf ?? primary.id })
      : undefined,
    currentServiceRevisions: deployments
      .filter((d) => d.status !== 'INACTIVE')
      .map((d) => revisionSummary(service, d, live)),
  };
}

function finishedAtOf(d: ServiceDeploymentRow): number | undefined {
  const status = serviceDeploymentStatus(d);
  return status === 'IN_PROGRESS' || status === 'ROLLBACK_IN_PROGRESS' ? undefined : d.updatedAtMs / 1000;
}

export async function listServiceDeployments(
  deps: CoreDeps,
  input: ListServiceDeploymentsRequest,
): Promise<ListServiceDeploymentsResponse> {
  const cluster = await requireCluster(deps, clusterNameOf(input.cluster));
  const page = readPage(input, 20, 100);
  const [service] = await deps.db
    .select()
    .from(services)
    .where(
      and(
        eq(services.arn, serviceArnOf(deps, cluster.name, input.service)),
        eq(services.clusterArn, cluster.arn),
      ),
    );
  if (!service) throw serviceNotFound();
  const conditions = [eq(serviceDeployments.serviceArn, service.arn)];
  const toMs = (t: number | string) => (typeof t === 'number' ? t * 1000 : Date.parse(t));
  if (input.createdAt?.after !== undefined)
    conditions.push(gte(serviceDeployments.createdAtMs, toMs(input.createdAt.after)));
  if (input.createdAt?.before !== undefined)
    conditions.push(lte(serviceDeployments.createdAtMs, toMs(input.createdAt.before)));
  const rows = await deps.db
    .select()
    .from(serviceDeployments)
    .where(and(...conditions))
    .orderBy(desc(serviceDeployments.createdAtMs), desc(serviceDeployments.id));
  const wanted = input.status?.length ? new Set(input.status) : undefined;
  // A rollback's own deployment is part of the service deployment it rolls back.
  const matching = rows.filter((d) => !d.rollbackOf && (!wanted || wanted.has(serviceDeploymentStatus(d))));
  const { items, nextToken } = pageResult(matching.slice(page.offset, page.offset + page.limit + 1), page);
  const briefs: ServiceDeploymentBrief[] = items.map((d) => ({
    serviceDeploymentArn: serviceDeploymentArn(service, d),
    serviceArn: service.arn,
    clusterArn: cluster.arn,
    createdAt: d.createdAtMs / 1000,
    startedAt: d.createdAtMs / 1000,
    finishedAt: finishedAtOf(d),
    targetServiceRevisionArn: serviceRevisionArn(service, d),
    status: serviceDeploymentStatus(d),
    statusReason: d.rolloutStateReason,
  }));
  return { serviceDeployments: briefs, nextToken };
}

/** The service and deployment an ARN of `kind` names, or undefined. */
async function resolve(deps: CoreDeps, kind: string, arn: string) {
  const parsed = parseEcsArn(arn);
  if (!parsed || parsed.resourceType !== kind || parsed.path.length !== 3) return undefined;
  const [clusterName, serviceName, digits] = parsed.path;
  const serviceArn = `arn:aws:ecs:${parsed.region}:${parsed.accountId}:service/${clusterName}/${serviceName}`;
  const [service] = await deps.db.select().from(services).where(eq(services.arn, serviceArn));
  if (!service || service.clusterArn !== clusterArnOf(deps.config, clusterName)) return undefined;
  const [deployment] = await deps.db
    .select()
    .from(serviceDeployments)
    .where(
      and(eq(serviceDeployments.id, `ecs-svc/${digits}`), eq(serviceDeployments.serviceArn, serviceArn)),
    );
  return deployment ? { service, deployment } : undefined;
}

function checkCount(arns: string[], field: string): void {
  if (arns.length < 1 || arns.length > 20) {
    throw invalidParameter(`${field}: between 1 and 20 ARNs may be described, got ${arns.length}`);
  }
}

async function liveTasksOf(deps: CoreDeps, service: ServiceRow): Promise<TaskRow[]> {
  return deps.db
    .select()
    .from(tasks)
    .where(
      and(
        eq(tasks.clusterArn, service.clusterArn),
        eq(tasks.group, serviceGroup(service.name)),
        ne(tasks.lastStatus, 'STOPPED'),
      ),
    );
}

export async function describeServiceDeployments(
  deps: CoreDeps,
  input: DescribeServiceDeploymentsRequest,
): Promise<DescribeServiceDeploymentsResponse> {
  checkCount(input.serviceDeploymentArns, 'serviceDeploymentArns');
  const found: ServiceDeployment[] = [];
  const failures: Failure[] = [];
  for (const arn of input.serviceDeploymentArns) {
    const hit = await resolve(deps, 'service-deployment', arn);
    if (!hit) {
      failures.push({ arn, reason: 'MISSING' });
      continue;
    }
    const { service, deployment } = hit;
    const all = await deps.db
      .select()
      .from(serviceDeployments)
      .where(eq(serviceDeployments.serviceArn, service.arn));
    const live = await liveTasksOf(deps, service);
    const sources = all.filter((d) => d.createdAtMs < deployment.createdAtMs && d.status !== 'INACTIVE');
    const { minimumHealthyPercent, maximumPercent, deploymentCircuitBreaker } =
      deploymentConfigurationOf(service);
    const status = serviceDeploymentStatus(deployment);
    found.push({
      serviceDeploymentArn: arn,
      serviceArn: service.arn,
      clusterArn: service.clusterArn,
      createdAt: deployment.createdAtMs / 1000,
      startedAt: deployment.createdAtMs / 1000,
      finishedAt: finishedAtOf(deployment),
      updatedAt: deployment.updatedAtMs / 1000,
      sourceServiceRevisions: sources.map((d) => revisionSummary(service, d, live)),
      targetServiceRevision: revisionSummary(service, deployment, live),
      status,
      statusReason: deployment.rolloutStateReason,
      ...(status === 'STOPPED' || status.startsWith('ROLLBACK_')
        ? { stoppedAt: deployment.updatedAtMs / 1000 }
        : {}),
      deploymentConfiguration: { minimumHealthyPercent, maximumPercent, deploymentCircuitBreaker },
      rollback: rollbackOf(service, deployment),
      deploymentCircuitBreaker: breakerOf(service, deployment),
      // Berth's own member, which ECS clients ignore: what started a hook-triggered deployment.
      ...(deployment.triggerJson ? { berth: { trigger: JSON.parse(deployment.triggerJson) } } : {}),
    } as ServiceDeployment);
  }
  return { serviceDeployments: found, failures };
}

export async function describeServiceRevisions(
  deps: CoreDeps,
  input: DescribeServiceRevisionsRequest,
): Promise<DescribeServiceRevisionsResponse> {
  checkCount(input.serviceRevisionArns, 'serviceRevisionArns');
  const found: ServiceRevision[] = [];
  const failures: Failure[] = [];
  for (const arn of input.serviceRevisionArns) {
    const hit = await resolve(deps, 'service-revision', arn);
    if (!hit) {
      failures.push({ arn, reason: 'MISSING' });
      continue;
    }
    const { service, deployment } = hit;
    const [definition] = await deps.db
      .select()
      .from(taskDefinitions)
      .where(eq(taskDefinitions.arn, deployment.taskDefinitionArn));
    const strategy = JSON.parse(service.capacityProviderStrategyJson) as CapacityProviderStrategyItem[];
    const digests = JSON.parse(deployment.imageDigestsJson) as Record<string, string>;
    found.push({
      serviceRevisionArn: arn,
      serviceArn: service.arn,
      clusterArn: service.clusterArn,
      taskDefinition: deployment.taskDefinitionArn,
      ...(strategy.length > 0
        ? { capacityProviderStrategy: strategy }
        : { launchType: (service.launchType ?? 'EC2') as ServiceRevision['launchType'] }),
      loadBalancers: [],
      serviceRegistries: [],
      containerImages: definition
        ? (toTaskDefinition(definition).containerDefinitions ?? []).map((c) => ({
            containerName: c.name,
            image: c.image,
            // Known once an agent running one of the revision's tasks reported it.
            imageDigest: c.name === undefined ? undefined : digests[c.name],
          }))
        : [],
      createdAt: deployment.createdAtMs / 1000,
    });
  }
  return { serviceRevisions: found, failures };
}
