/** DescribeContainerInstances and ListContainerInstances: read straight from the database. */
import { and, asc, eq, inArray, ne } from 'drizzle-orm';
import { type ContainerInstanceRow, containerInstances, tasks } from '../../../db/schema';
import { CAPACITY_PROVIDER_ATTRIBUTE } from '../../../protocol/attributes';
import type {
  Attribute,
  ContainerInstance,
  DescribeContainerInstancesRequest,
  Failure,
  ListAttributesRequest,
  ListAttributesResponse,
  ListContainerInstancesRequest,
  ListContainerInstancesResponse,
  Resource,
  Tag,
} from '../../ecs-types.generated';
import { containerInstanceArn, resourceIdOf } from '../arn';
import {
  allocationOf,
  attributesOf,
  reservedPortsOf,
  type TaskAllocation,
  toPlacementInstance,
} from '../cluster/cluster-view';
import { requireCluster } from '../clusters/clusters';
import type { CoreDeps } from '../deps';
import { invalidParameter } from '../errors';
import { pageResult, readPage } from '../pagination';
import { matchesClusterQuery, parseClusterQuery } from '../placement';
import { epochSeconds } from '../time';

const resource = (name: string, value: number): Resource => ({
  name,
  type: 'INTEGER',
  integerValue: value,
  doubleValue: 0,
  longValue: 0,
});
/** ECS lists ports as strings; a set, so each once, and in order so the output is stable. */
const portsResource = (name: string, ports: readonly number[]): Resource => ({
  name,
  type: 'STRINGSET',
  stringSetValue: [...new Set(ports)].sort((a, b) => a - b).map(String),
  doubleValue: 0,
  longValue: 0,
  integerValue: 0,
});

async function allocationsFor(deps: CoreDeps, arns: string[]) {
  const byInstance = new Map<string, Map<string, TaskAllocation>>(arns.map((a) => [a, new Map()]));
  if (arns.length === 0) return byInstance;
  const rows = await deps.db
    .select()
    .from(tasks)
    .where(and(inArray(tasks.containerInstanceArn, arns), ne(tasks.lastStatus, 'STOPPED')));
  for (const row of rows) byInstance.get(row.containerInstanceArn!)?.set(row.arn, allocationOf(row));
  return byInstance;
}

export function toEcsContainerInstance(
  row: ContainerInstanceRow,
  allocations: Map<string, TaskAllocation>,
  tags: boolean,
): ContainerInstance {
  const reservedPorts = reservedPortsOf(row);
  const view = toPlacementInstance(row, allocations, attributesOf(row), reservedPorts);
  // As in ECS, "remaining" ports are the taken ones: what placement sees as used, reserved included.
  const takenPorts = (protocol: 'tcp' | 'udp') =>
    view.usedHostPorts.filter((p) => p.protocol === protocol).map((p) => p.port);
  return {
    containerInstanceArn: row.arn,
    ec2InstanceId: row.instanceId,
    // The pool this instance belongs to, as placement reads it (see protocol/attributes.ts).
    capacityProviderName: view.attributes[CAPACITY_PROVIDER_ATTRIBUTE] ?? undefined,
    version: row.version,
    versionInfo: {
      agentVersion: row.agentVersion,
      agentHash: 'berth',
      dockerVersion: `DockerVersion: ${row.dockerVersion}`,
    },
    remainingResources: [
      resource('CPU', view.remainingCpu),
      resource('MEMORY', view.remainingMemoryMiB),
      portsResource('PORTS', takenPorts('tcp')),
      portsResource('PORTS_UDP', takenPorts('udp')),
    ],
    registeredResources: [
      resource('CPU', row.registeredCpu),
      resource('MEMORY', row.registeredMemoryMiB),
      // Reserved ports hold under both protocols (see toPlacementInstance), so both sets list them.
      portsResource('PORTS', reservedPorts),
      portsResource('PORTS_UDP', reservedPorts),
    ],
    status: row.status,
    agentConnected: row.agentConnected,
    runningTasksCount: view.runningTasksCount,
    pendingTasksCount: view.pendingTasksCount,
    attributes: Object.entries(view.attributes).map(([name, value]) =>
      value === null ? { name } : { name, value },
    ),
    registeredAt: epochSeconds(row.registeredAtMs),
    attachments: [],
    tags: tags ? (JSON.parse(row.tagsJson) as Tag[]) : undefined,
  };
}

/** DescribeContainerInstances' answer, both lists always present. */
export interface DescribedContainerInstances {
  containerInstances: ContainerInstance[];
  failures: Failure[];
}

export async function describeContainerInstances(
  deps: CoreDeps,
  input: DescribeContainerInstancesRequest,
): Promise<DescribedContainerInstances> {
  const cluster = await requireCluster(deps, input.cluster);
  if (input.containerInstances.length === 0) {
    throw invalidParameter('containerInstances: Container instances cannot be empty.');
  }
  if (input.containerInstances.length > 100) {
    throw invalidParameter('containerInstances: at most 100 container instances can be described at once');
  }
  const arns = input.containerInstances.map((c) =>
    containerInstanceArn(deps.config, cluster.name, resourceIdOf(c)),
  );
  const rows = await deps.db
    .select()
    .from(containerInstances)
    .where(and(eq(containerInstances.clusterArn, cluster.arn), inArray(containerInstances.arn, arns)));
  const allocations = await allocationsFor(
    deps,
    rows.map((r) => r.arn),
  );
  const byArn = new Map(rows.map((r) => [r.arn, r]));
  const tags = input.include?.includes('TAGS') ?? false;
  return {
    containerInstances: arns
      .filter((a) => byArn.has(a))
      .map((a) => toEcsContainerInstance(byArn.get(a)!, allocations.get(a)!, tags)),
    failures: arns.filter((a) => !byArn.has(a)).map((arn) => ({ arn, reason: 'MISSING' })),
  };
}

export async function listContainerInstances(
  deps: CoreDeps,
  input: ListContainerInstancesRequest,
): Promise<ListContainerInstancesResponse> {
  const cluster = await requireCluster(deps, input.cluster);
  const page = readPage(input, 100, 100);
  const conditions = [eq(containerInstances.clusterArn, cluster.arn)];
  if (input.status) conditions.push(eq(containerInstances.status, input.status));
  else conditions.push(ne(containerInstances.status, 'INACTIVE'));
  let rows = await deps.db
    .select()
    .from(containerInstances)
    .where(and(...conditions))
    .orderBy(asc(containerInstances.registeredAtMs), asc(containerInstances.arn));
  if (input.filter) {
    const query = parseClusterQuery(input.filter, 'filter');
    const allocations = await allocationsFor(
      deps,
      rows.map((r) => r.arn),
    );
    rows = rows.filter((r) => matchesClusterQuery(query, toPlacementInstance(r, allocations.get(r.arn)!)));
  }
  const { items, nextToken } = pageResult(rows.slice(page.offset, page.offset + page.limit + 1), page);
  return { containerInstanceArns: items.map((r) => r.arn), nextToken };
}

export async function listAttributes(
  deps: CoreDeps,
  input: ListAttributesRequest,
): Promise<ListAttributesResponse> {
  const cluster = await requireCluster(deps, input.cluster);
  if (input.targetType !== 'container-instance') {
    throw invalidParameter('targetType: only container-instance is supported');
  }
  if (input.attributeValue !== undefined && input.attributeName === undefined) {
    throw invalidParameter('attributeValue: attributeName must be given with it');
  }
  const page = readPage(input, 100, 100);
  const rows = await deps.db
    .select()
    .from(containerInstances)
    .where(and(eq(containerInstances.clusterArn, cluster.arn), ne(containerInstances.status, 'INACTIVE')))
    .orderBy(asc(containerInstances.registeredAtMs), asc(containerInstances.arn));
  const all = rows.flatMap((row) =>
    [row.attributesJson, row.customAttributesJson].flatMap((json) =>
      (JSON.parse(json) as Attribute[]).map(
        (a): Attribute => ({
          name: a.name,
          value: a.value,
          targetType: 'container-instance',
          targetId: row.arn,
        }),
      ),
    ),
  );
  const matching = all.filter(
    (a) =>
      (input.attributeName === undefined || a.name === input.attributeName) &&
      (input.attributeValue === undefined || a.value === input.attributeValue),
  );
  const { items, nextToken } = pageResult(matching.slice(page.offset, page.offset + page.limit + 1), page);
  return { attributes: items, nextToken };
}
