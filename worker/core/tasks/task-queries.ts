/** The read side of tasks: DescribeTasks and ListTasks read the database directly, never the coordinator. */
import { and, asc, eq, inArray } from 'drizzle-orm';
import { tasks } from '../../../db/schema';
import type {
  DescribeTasksRequest,
  Failure,
  ListTasksRequest,
  ListTasksResponse,
  Task,
} from '../../ecs-types.generated';
import { arnInCluster } from '../arn';
import { requireCluster } from '../clusters/clusters';
import type { CoreDeps } from '../deps';
import { invalidParameter } from '../errors';
import { pageResult, readPage } from '../pagination';
import { toEcsTask } from './task-record';

export async function describeTasks(
  deps: CoreDeps,
  input: DescribeTasksRequest,
): Promise<{ tasks: Task[]; failures: Failure[] }> {
  const cluster = await requireCluster(deps, input.cluster);
  // As ECS: an empty list is a mistake to report, not a request for nothing.
  if (input.tasks.length === 0) throw invalidParameter('tasks: Tasks cannot be empty.');
  if (input.tasks.length > 100) throw invalidParameter('tasks: at most 100 tasks can be described at once');
  const arns = input.tasks.map((t) => arnInCluster(deps.config, 'task', cluster.name, t));
  const rows = await deps.db
    .select()
    .from(tasks)
    .where(and(eq(tasks.clusterArn, cluster.arn), inArray(tasks.arn, arns)));
  const byArn = new Map(rows.map((r) => [r.arn, r]));
  const withTags = input.include?.includes('TAGS') ?? false;
  return {
    tasks: arns.filter((a) => byArn.has(a)).map((a) => toEcsTask(byArn.get(a)!, { tags: withTags })),
    failures: arns.filter((a) => !byArn.has(a)).map((arn) => ({ arn, reason: 'MISSING' })),
  };
}

export async function listTasks(deps: CoreDeps, input: ListTasksRequest): Promise<ListTasksResponse> {
  const cluster = await requireCluster(deps, input.cluster);
  const page = readPage(input, 100, 100);
  // ECS lists tasks whose desired status is RUNNING unless asked otherwise.
  const conditions = [
    eq(tasks.clusterArn, cluster.arn),
    eq(tasks.desiredStatus, input.desiredStatus ?? 'RUNNING'),
  ];
  if (input.containerInstance) {
    const instanceArn = arnInCluster(
      deps.config,
      'container-instance',
      cluster.name,
      input.containerInstance,
    );
    conditions.push(eq(tasks.containerInstanceArn, instanceArn));
  }
  if (input.family) conditions.push(eq(tasks.family, input.family));
  if (input.startedBy) conditions.push(eq(tasks.startedBy, input.startedBy));
  if (input.serviceName) conditions.push(eq(tasks.group, `service:${input.serviceName}`));
  if (input.launchType) conditions.push(eq(tasks.launchType, input.launchType));
  const rows = await deps.db
    .select({ arn: tasks.arn })
    .from(tasks)
    .where(and(...conditions))
    .orderBy(asc(tasks.createdAtMs), asc(tasks.arn))
    .limit(page.limit + 1)
    .offset(page.offset);
  const { items, nextToken } = pageResult(rows, page);
  return { taskArns: items.map((r) => r.arn), nextToken };
}
