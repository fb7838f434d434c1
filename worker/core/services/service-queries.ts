/**
 * The service reads: DescribeServices and ListServices straight from the database (they are not
 * room commands), the described shape of one service for the room's commands, and the count of
 * ACTIVE services DescribeClusters reports.
 */
import { and, asc, eq, inArray, ne } from 'drizzle-orm';
import { type ServiceRow, serviceDeployments, services, type TaskRow, tasks } from '../../../db/schema';
import type {
  DescribeServicesRequest,
  DescribeServicesResponse,
  Failure,
  ListServicesRequest,
  ListServicesResponse,
  Service,
} from '../../ecs-types.generated';
import type { CommandContext } from '../cluster/command-context';
import { clusterNameOf, requireCluster } from '../clusters/clusters';
import type { CoreDeps } from '../deps';
import { invalidParameter } from '../errors';
import { pageResult, readPage } from '../pagination';
import { serviceTasksInView } from './reconcile';
import { currentDeploymentFields } from './service-deployments';
import { serviceArnOf, serviceGroup, serviceNotFound, toEcsService } from './service-record';

/** The cluster's service a call names (name or ARN), whatever its status; ServiceNotFoundException otherwise. */
export async function requireServiceInRoom(ctx: CommandContext, reference: string): Promise<ServiceRow> {
  const arn = serviceArnOf(ctx.deps, ctx.cluster.name, reference);
  const [service] = await ctx.deps.db
    .select()
    .from(services)
    .where(and(eq(services.arn, arn), eq(services.clusterArn, ctx.cluster.arn)));
  if (!service) throw serviceNotFound();
  return service;
}

export async function describeServiceInRoom(ctx: CommandContext, arn: string): Promise<Service> {
  const [row] = await ctx.deps.db.select().from(services).where(eq(services.arn, arn));
  if (!row) throw serviceNotFound();
  const deployments = await ctx.deps.db
    .select()
    .from(serviceDeployments)
    .where(eq(serviceDeployments.serviceArn, arn));
  const live = serviceTasksInView(ctx, row.name);
  return {
    ...toEcsService(row, ctx.cluster.arn, deployments, live, { tags: true }),
    ...currentDeploymentFields(row, deployments, live),
  };
}

export async function describeServices(
  deps: CoreDeps,
  input: DescribeServicesRequest,
): Promise<DescribeServicesResponse> {
  const cluster = await requireCluster(deps, clusterNameOf(input.cluster));
  if (input.services.length === 0 || input.services.length > 10) {
    throw invalidParameter(
      `services: between 1 and 10 services may be described, got ${input.services.length}`,
    );
  }
  const arns = input.services.map((s) => serviceArnOf(deps, cluster.name, s));
  const rows = await deps.db
    .select()
    .from(services)
    .where(and(eq(services.clusterArn, cluster.arn), inArray(services.arn, arns)));
  const byArn = new Map(rows.map((r) => [r.arn, r]));
  const deployments = rows.length
    ? await deps.db
        .select()
        .from(serviceDeployments)
        .where(
          inArray(
            serviceDeployments.serviceArn,
            rows.map((r) => r.arn),
          ),
        )
    : [];
  const live: TaskRow[] = rows.length
    ? await deps.db
        .select()
        .from(tasks)
        .where(
          and(
            eq(tasks.clusterArn, cluster.arn),
            inArray(
              tasks.group,
              rows.map((r) => serviceGroup(r.name)),
            ),
            ne(tasks.lastStatus, 'STOPPED'),
          ),
        )
    : [];
  const found: Service[] = [];
  const failures: Failure[] = [];
  const include = new Set(input.include ?? []);
  for (const arn of arns) {
    const row = byArn.get(arn);
    if (!row) {
      failures.push({ arn, reason: 'MISSING' });
      continue;
    }
    const own = deployments.filter((d) => d.serviceArn === arn);
    const ownTasks = live.filter((t) => t.group === serviceGroup(row.name));
    found.push({
      ...toEcsService(row, cluster.arn, own, ownTasks, { tags: include.has('TAGS') }),
      ...currentDeploymentFields(row, own, ownTasks),
    });
  }
  return { services: found, failures };
}

/** ACTIVE services (DRAINING and INACTIVE ones are not listed, as in ECS), oldest first. */
export async function listServices(
  deps: CoreDeps,
  input: ListServicesRequest,
): Promise<ListServicesResponse> {
  const cluster = await requireCluster(deps, clusterNameOf(input.cluster));
  const page = readPage(input, 10, 100);
  const conditions = [eq(services.clusterArn, cluster.arn), eq(services.status, 'ACTIVE')];
  if (input.schedulingStrategy) conditions.push(eq(services.schedulingStrategy, input.schedulingStrategy));
  if (input.launchType) conditions.push(eq(services.launchType, input.launchType));
  if (input.resourceManagementType === 'ECS') return { serviceArns: [] };
  const rows = await deps.db
    .select({ arn: services.arn })
    .from(services)
    .where(and(...conditions))
    .orderBy(asc(services.createdAtMs), asc(services.arn))
    .limit(page.limit + 1)
    .offset(page.offset);
  const { items, nextToken } = pageResult(rows, page);
  return { serviceArns: items.map((r) => r.arn), nextToken };
}
