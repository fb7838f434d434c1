import { and, asc, desc, eq, sql } from 'drizzle-orm';
import { type TaskDefinitionRow, taskDefinitions } from '../../../db/schema';
import type {
  DeleteTaskDefinitionsRequest,
  DeleteTaskDefinitionsResponse,
  DeregisterTaskDefinitionRequest,
  DescribeTaskDefinitionRequest,
  Failure,
  ListTaskDefinitionFamiliesRequest,
  ListTaskDefinitionsRequest,
} from '../../ecs-types.generated';
import { parseEcsArn, taskDefinitionArn } from '../arn';
import type { CoreDeps } from '../deps';
import { clientError, invalidParameter } from '../errors';
import { pageResult, readPage } from '../pagination';
import { type Tag, validateTags } from '../tags';
import { epochSeconds } from '../time';
import type {
  ContainerDefinition,
  RegisterTaskDefinitionInput,
  TaskDefinition,
  TaskDefinitionBody,
} from './types';
import { validateTaskDefinitionInput } from './validate';
import { healthCheckWithDefaults } from './validate-health-check';

/** ECS's defaults for a container that says nothing about `essential`, a port's protocol or health check timings. */
function normalizeContainer(container: ContainerDefinition): ContainerDefinition {
  return {
    ...container,
    essential: container.essential ?? true,
    environment: container.environment ?? [],
    portMappings: (container.portMappings ?? []).map((p) => ({ ...p, protocol: p.protocol ?? 'tcp' })),
    mountPoints: container.mountPoints ?? [],
    volumesFrom: container.volumesFrom ?? [],
    healthCheck: container.healthCheck && healthCheckWithDefaults(container.healthCheck),
  };
}

export function toTaskDefinition(row: TaskDefinitionRow): TaskDefinition {
  const body = JSON.parse(row.bodyJson) as TaskDefinitionBody;
  return {
    ...body,
    taskDefinitionArn: row.arn,
    revision: row.revision,
    status: row.status,
    registeredAt: epochSeconds(row.registeredAtMs)!,
    deregisteredAt: epochSeconds(row.deregisteredAtMs),
  };
}

export async function registerTaskDefinition(deps: CoreDeps, input: RegisterTaskDefinitionInput) {
  validateTaskDefinitionInput(input);
  const tags = validateTags(input.tags);
  const { tags: _omitTags, ...definition } = input;
  const body: TaskDefinitionBody = {
    ...definition,
    containerDefinitions: input.containerDefinitions.map(normalizeContainer),
    networkMode: input.networkMode ?? 'bridge',
    volumes: input.volumes ?? [],
    placementConstraints: input.placementConstraints ?? [],
    compatibilities: ['EC2', 'EXTERNAL'],
    requiresAttributes: [],
  };
  // The next revision is computed inside the INSERT, in one statement, so concurrent registrations
  // of one family each take the next number (SQLite runs one write statement at a time) instead of
  // racing a read against a write; the unique index stays as the backstop.
  const arnPrefix = taskDefinitionArn(deps.config, input.family, 0).replace(/0$/, '');
  const inserted = await deps.db.all<{ arn: string }>(sql`
    INSERT INTO task_definitions (arn, family, revision, status, body_json, tags_json, registered_at_ms)
    SELECT ${arnPrefix} || next.revision, ${input.family}, next.revision, 'ACTIVE',
           ${JSON.stringify(body)}, ${JSON.stringify(tags)}, ${deps.now()}
    FROM (SELECT COALESCE(MAX(revision), 0) + 1 AS revision FROM task_definitions WHERE family = ${input.family}) AS next
    RETURNING arn`);
  const [row] = await deps.db.select().from(taskDefinitions).where(eq(taskDefinitions.arn, inserted[0].arn));
  return { taskDefinition: toTaskDefinition(row), tags };
}

/** Resolves `family`, `family:revision` or a full ARN; a bare family means its latest ACTIVE revision. */
export async function findTaskDefinition(deps: CoreDeps, reference: string, field = 'taskDefinition') {
  const parsed = parseEcsArn(reference);
  let familyAndRevision = reference;
  if (parsed) {
    if (parsed.resourceType !== 'task-definition') {
      throw invalidParameter(`${field}: '${reference}' is not a task definition ARN`);
    }
    familyAndRevision = parsed.path.join('/');
  }
  const [family, revisionText, ...rest] = familyAndRevision.split(':');
  if (!family || rest.length > 0 || (revisionText !== undefined && !/^\d+$/.test(revisionText))) {
    throw invalidParameter(
      `${field}: '${reference}' must be a family, family:revision or a task definition ARN`,
    );
  }
  const where =
    revisionText === undefined
      ? and(eq(taskDefinitions.family, family), eq(taskDefinitions.status, 'ACTIVE'))
      : and(eq(taskDefinitions.family, family), eq(taskDefinitions.revision, Number(revisionText)));
  const [row] = await deps.db
    .select()
    .from(taskDefinitions)
    .where(where)
    .orderBy(desc(taskDefinitions.revision))
    .limit(1);
  return { row, hasRevision: revisionText !== undefined };
}

export async function requireTaskDefinition(deps: CoreDeps, reference: string, field = 'taskDefinition') {
  const { row } = await findTaskDefinition(deps, reference, field);
  if (!row || row.status === 'DELETE_IN_PROGRESS') throw clientError('Unable to describe task definition.');
  return row;
}

export async function describeTaskDefinition(deps: CoreDeps, input: DescribeTaskDefinitionRequest) {
  const row = await requireTaskDefinition(deps, input.taskDefinition);
  return {
    taskDefinition: toTaskDefinition(row),
    tags: input.include?.includes('TAGS') ? (JSON.parse(row.tagsJson) as Tag[]) : undefined,
  };
}

export async function listTaskDefinitions(deps: CoreDeps, input: ListTaskDefinitionsRequest) {
  const page = readPage(input, 100, 100);
  const status = input.status ?? 'ACTIVE';
  const conditions = [eq(taskDefinitions.status, status)];
  // familyPrefix is a prefix of the family name, as in ECS.
  if (input.familyPrefix) conditions.push(familyStartsWith(input.familyPrefix));
  const order = input.sort === 'DESC' ? desc : asc;
  const rows = await deps.db
    .select({ arn: taskDefinitions.arn })
    .from(taskDefinitions)
    .where(and(...conditions))
    .orderBy(order(taskDefinitions.family), order(taskDefinitions.revision))
    .limit(page.limit + 1)
    .offset(page.offset);
  const { items, nextToken } = pageResult(rows, page);
  return { taskDefinitionArns: items.map((r) => r.arn), nextToken };
}

export async function listTaskDefinitionFamilies(deps: CoreDeps, input: ListTaskDefinitionFamiliesRequest) {
  const page = readPage(input, 100, 100);
  const status = input.status ?? 'ACTIVE';
  const activeCount = sql<number>`sum(case when ${taskDefinitions.status} = 'ACTIVE' then 1 else 0 end)`;
  const having =
    status === 'ACTIVE'
      ? sql`${activeCount} > 0`
      : status === 'INACTIVE'
        ? sql`${activeCount} = 0`
        : undefined;
  const rows = await deps.db
    .select({ family: taskDefinitions.family })
    .from(taskDefinitions)
    .where(input.familyPrefix ? familyStartsWith(input.familyPrefix) : undefined)
    .groupBy(taskDefinitions.family)
    .having(having)
    .orderBy(asc(taskDefinitions.family))
    .limit(page.limit + 1)
    .offset(page.offset);
  const { items, nextToken } = pageResult(rows, page);
  return { families: items.map((r) => r.family), nextToken };
}

export async function deregisterTaskDefinition(deps: CoreDeps, input: DeregisterTaskDefinitionRequest) {
  const { row, hasRevision } = await findTaskDefinition(deps, input.taskDefinition);
  if (!hasRevision) throw clientError('taskDefinition: a revision must be given (family:revision or ARN)');
  if (!row) throw clientError('The specified task definition does not exist.');
  if (row.status !== 'ACTIVE') return { taskDefinition: toTaskDefinition(row) };
  const [updated] = await deps.db
    .update(taskDefinitions)
    .set({ status: 'INACTIVE', deregisteredAtMs: deps.now() })
    .where(eq(taskDefinitions.arn, row.arn))
    .returning();
  return { taskDefinition: toTaskDefinition(updated) };
}

export async function deleteTaskDefinitions(
  deps: CoreDeps,
  input: DeleteTaskDefinitionsRequest,
): Promise<Required<DeleteTaskDefinitionsResponse>> {
  if (input.taskDefinitions.length < 1 || input.taskDefinitions.length > 10) {
    throw invalidParameter('taskDefinitions: between 1 and 10 task definitions can be deleted at once');
  }
  const deleted: TaskDefinition[] = [];
  const failures: Failure[] = [];
  for (const reference of input.taskDefinitions) {
    const { row, hasRevision } = await findTaskDefinition(deps, reference, 'taskDefinitions');
    if (!hasRevision || !row) {
      failures.push({ arn: reference, reason: 'The specified task definition does not exist.' });
      continue;
    }
    if (row.status === 'ACTIVE') {
      failures.push({
        arn: row.arn,
        reason:
          'The specified task definition is still in ACTIVE status. Please deregister the target and try again.',
      });
      continue;
    }
    const [updated] = await deps.db
      .update(taskDefinitions)
      .set({ status: 'DELETE_IN_PROGRESS' })
      .where(eq(taskDefinitions.arn, row.arn))
      .returning();
    deleted.push(toTaskDefinition(updated));
  }
  return { taskDefinitions: deleted, failures };
}

/** substr instead of LIKE: family names may contain '_', which LIKE treats as a wildcard. */
const familyStartsWith = (prefix: string) =>
  sql`substr(${taskDefinitions.family}, 1, ${prefix.length}) = ${prefix}`;
