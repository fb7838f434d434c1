import { and, asc, eq, inArray, ne, sql } from 'drizzle-orm';
import { type ClusterRow, clusters, containerInstances, tasks } from '../../../db/schema';
import type {
  Cluster,
  CreateClusterRequest,
  DeleteClusterRequest,
  DeleteClusterResponse,
  DescribeClustersRequest,
  Failure,
  ListClustersRequest,
} from '../../ecs-types.generated';
import { clusterArn, parseEcsArn } from '../arn';
import {
  assertAssociable,
  validateClusterCapacityProviders,
  writeClusterCapacityProviders,
} from '../capacity-providers/association';
import { capacityProvidersOf, defaultStrategyOf } from '../capacity-providers/capacity-providers';
import type { CoreDeps } from '../deps';
import { EcsError, excerpt, invalidParameter } from '../errors';
import { pageResult, readPage } from '../pagination';
import { activeServicesCounts, unfinishedServicesCount } from '../services/active-services';
import { type Tag, validateTags } from '../tags';
import {
  type ClusterConfiguration,
  type ClusterSetting,
  serviceConnectDefaultsJson,
  settingsForNewCluster,
  validateClusterConfiguration,
} from './cluster-settings';

const CLUSTER_NAME_PATTERN = /^[a-zA-Z0-9_-]{1,255}$/;
export const DEFAULT_CLUSTER = 'default';

/**
 * Accepts a cluster name or ARN, as every ECS call's `cluster` field does, and checks it on every
 * call, not only at CreateCluster: a name no cluster could have must not reach a coordinator
 * directory (which would keep state for it) or a Durable Object id.
 */
export function clusterNameOf(nameOrArn: string | undefined): string {
  const value = nameOrArn ?? DEFAULT_CLUSTER;
  const parsed = parseEcsArn(value);
  if (parsed && parsed.resourceType !== 'cluster') {
    throw invalidParameter(`cluster: '${excerpt(value)}' is not a cluster ARN`);
  }
  const name = parsed ? parsed.path.join('/') : value;
  if (!CLUSTER_NAME_PATTERN.test(name)) {
    throw invalidParameter(
      `cluster: '${excerpt(value)}' is not a cluster name or ARN (a name is up to 255 letters, numbers, underscores and hyphens)`,
    );
  }
  return name;
}

/** The ACTIVE cluster a call names, or ClusterNotFoundException. */
export async function requireCluster(deps: CoreDeps, nameOrArn: string | undefined): Promise<ClusterRow> {
  const name = clusterNameOf(nameOrArn);
  const [row] = await deps.db.select().from(clusters).where(eq(clusters.name, name));
  if (row?.status !== 'ACTIVE') throw new EcsError('ClusterNotFoundException', 'Cluster not found.');
  return row;
}

export async function createCluster(deps: CoreDeps, input: CreateClusterRequest): Promise<ClusterRow> {
  const name = input.clusterName ?? DEFAULT_CLUSTER;
  if (!CLUSTER_NAME_PATTERN.test(name)) {
    throw invalidParameter(
      'clusterName: up to 255 letters (uppercase and lowercase), numbers, underscores, and hyphens are allowed',
    );
  }
  const tags = validateTags(input.tags);
  const settings = await settingsForNewCluster(deps, input.settings);
  const configuration = validateClusterConfiguration(input.configuration ?? {});
  const serviceConnect = input.serviceConnectDefaults
    ? serviceConnectDefaultsJson(input.serviceConnectDefaults)
    : null;
  const withCapacityProviders =
    input.capacityProviders !== undefined || input.defaultCapacityProviderStrategy !== undefined;
  const capacity = validateClusterCapacityProviders(input);
  const arn = clusterArn(deps.config, name);
  // Refused before anything is written, so a bad provider creates no cluster.
  if (withCapacityProviders) await assertAssociable(deps, arn, capacity.capacityProviders);
  // What this call gives a cluster it creates, or brings back after a deletion: a deleted
  // cluster's tags, settings and configuration went with it, as in ECS.
  const given = {
    tagsJson: JSON.stringify(tags),
    settingsJson: JSON.stringify(settings),
    configurationJson: JSON.stringify(configuration),
    serviceConnectDefaultsJson: serviceConnect,
  };
  // CreateCluster is idempotent in ECS: an existing cluster is returned (and reactivated if deleted).
  const created = await deps.db
    .insert(clusters)
    .values({ arn, name, status: 'ACTIVE', ...given, createdAtMs: deps.now() })
    .onConflictDoUpdate({
      target: clusters.arn,
      set: {
        status: 'ACTIVE',
        ...given,
        capacityProvidersJson: '[]',
        defaultCapacityProviderStrategyJson: '[]',
      },
      setWhere: ne(clusters.status, 'ACTIVE'),
    })
    .returning({ arn: clusters.arn });
  // Only a cluster this call created (or brought back) takes its capacity providers, as only it takes its tags.
  if (created.length > 0 && withCapacityProviders) await writeClusterCapacityProviders(deps, arn, capacity);
  const [row] = await deps.db.select().from(clusters).where(eq(clusters.arn, arn));
  return row;
}

export async function listClusters(deps: CoreDeps, input: ListClustersRequest) {
  const page = readPage(input, 100, 100);
  const rows = await deps.db
    .select({ arn: clusters.arn })
    .from(clusters)
    .where(eq(clusters.status, 'ACTIVE'))
    .orderBy(asc(clusters.createdAtMs), asc(clusters.arn))
    .limit(page.limit + 1)
    .offset(page.offset);
  const { items, nextToken } = pageResult(rows, page);
  return { clusterArns: items.map((r) => r.arn), nextToken };
}

export interface ClusterCounts {
  registeredContainerInstancesCount: number;
  runningTasksCount: number;
  pendingTasksCount: number;
}

async function countsFor(deps: CoreDeps, arns: string[]): Promise<Map<string, ClusterCounts>> {
  const counts = new Map<string, ClusterCounts>(
    arns.map((arn) => [
      arn,
      { registeredContainerInstancesCount: 0, runningTasksCount: 0, pendingTasksCount: 0 },
    ]),
  );
  if (arns.length === 0) return counts;
  const instanceRows = await deps.db
    .select({ clusterArn: containerInstances.clusterArn, n: sql<number>`count(*)` })
    .from(containerInstances)
    .where(and(inArray(containerInstances.clusterArn, arns), ne(containerInstances.status, 'INACTIVE')))
    .groupBy(containerInstances.clusterArn);
  for (const r of instanceRows) counts.get(r.clusterArn)!.registeredContainerInstancesCount = Number(r.n);
  const taskRows = await deps.db
    .select({ clusterArn: tasks.clusterArn, lastStatus: tasks.lastStatus, n: sql<number>`count(*)` })
    .from(tasks)
    .where(and(inArray(tasks.clusterArn, arns), ne(tasks.lastStatus, 'STOPPED')))
    .groupBy(tasks.clusterArn, tasks.lastStatus);
  for (const r of taskRows) {
    const c = counts.get(r.clusterArn)!;
    if (r.lastStatus === 'RUNNING') c.runningTasksCount += Number(r.n);
    else c.pendingTasksCount += Number(r.n);
  }
  return counts;
}

/** DescribeClusters' answer, both lists always present. */
export interface DescribedClusters {
  clusters: Cluster[];
  failures: Failure[];
}

export async function describeClusters(
  deps: CoreDeps,
  input: DescribeClustersRequest,
): Promise<DescribedClusters> {
  const names = (input.clusters?.length ? input.clusters : [DEFAULT_CLUSTER]).map(clusterNameOf);
  if (names.length > 100) throw invalidParameter('clusters: at most 100 clusters can be described at once');
  const rows = await deps.db.select().from(clusters).where(inArray(clusters.name, names));
  const byName = new Map(rows.map((r) => [r.name, r]));
  const counts = await countsFor(
    deps,
    rows.map((r) => r.arn),
  );
  const activeServices = await activeServicesCounts(
    deps,
    rows.map((r) => r.arn),
  );
  const include = new Set(input.include ?? []);
  const found: Cluster[] = [];
  const failures: Failure[] = [];
  for (const name of names) {
    const row = byName.get(name);
    if (!row) {
      failures.push({ arn: clusterArn(deps.config, name), reason: 'MISSING' });
      continue;
    }
    found.push({
      clusterArn: row.arn,
      clusterName: row.name,
      status: row.status,
      ...counts.get(row.arn),
      activeServicesCount: activeServices.get(row.arn) ?? 0,
      statistics: [],
      tags: include.has('TAGS') ? (JSON.parse(row.tagsJson) as Tag[]) : undefined,
      settings: include.has('SETTINGS') ? (JSON.parse(row.settingsJson) as ClusterSetting[]) : undefined,
      configuration: include.has('CONFIGURATIONS') ? configurationOf(row) : undefined,
      serviceConnectDefaults: row.serviceConnectDefaultsJson
        ? (JSON.parse(row.serviceConnectDefaultsJson) as Cluster['serviceConnectDefaults'])
        : undefined,
      capacityProviders: capacityProvidersOf(row),
      defaultCapacityProviderStrategy: defaultStrategyOf(row),
    });
  }
  return { clusters: found, failures };
}

/** The stored configuration, or nothing when the cluster has none (ECS leaves `configuration` out then). */
function configurationOf(row: ClusterRow): ClusterConfiguration | undefined {
  const configuration = JSON.parse(row.configurationJson) as ClusterConfiguration;
  return Object.keys(configuration).length > 0 ? configuration : undefined;
}

export async function deleteCluster(
  deps: CoreDeps,
  input: DeleteClusterRequest,
): Promise<DeleteClusterResponse> {
  const row = await requireCluster(deps, input.cluster);
  // Services first: while one is ACTIVE or DRAINING it would keep its instances busy.
  if ((await unfinishedServicesCount(deps, row.arn)) > 0) {
    throw new EcsError(
      'ClusterContainsServicesException',
      'The Cluster cannot be deleted while Services are active.',
    );
  }
  const counts = (await countsFor(deps, [row.arn])).get(row.arn)!;
  if (counts.registeredContainerInstancesCount > 0) {
    throw new EcsError(
      'ClusterContainsContainerInstancesException',
      'The Cluster cannot be deleted while Container Instances are active or draining.',
    );
  }
  if (counts.runningTasksCount + counts.pendingTasksCount > 0) {
    throw new EcsError(
      'ClusterContainsTasksException',
      'The Cluster cannot be deleted while Tasks are active.',
    );
  }
  // A deleted cluster lets go of its capacity providers, so they can be deleted or associated elsewhere.
  await deps.db
    .update(clusters)
    .set({ status: 'INACTIVE', capacityProvidersJson: '[]', defaultCapacityProviderStrategyJson: '[]' })
    .where(eq(clusters.arn, row.arn));
  const described = await describeClusters(deps, { clusters: [row.name] });
  return { cluster: described.clusters[0] };
}
