/**
 * RunTask inside a cluster's coordinator: resolve the task definition, place the tasks, and write
 * every placed task (and the clientToken record) in one batch, before any agent hears of them.
 */
import { and, eq, inArray } from 'drizzle-orm';
import { runTaskRequests, type TaskRow, tasks } from '../../../db/schema';
import { arnInCluster, containerArn, taskArn } from '../arn';
import type { CoreDeps } from '../deps';
import { EcsError, invalidParameter } from '../errors';
import { taskEventsInsert } from '../events/task-events';
import {
  type PlacementConstraint,
  type PlacementStrategy,
  placeTasks,
  validatePlacement,
} from '../placement';
import { sha256Hex } from '../sha256';
import { type Tag, validateTags } from '../tags';
import { requireTaskDefinition, toTaskDefinition } from '../task-definitions/task-definitions';
import { refuseHostAccess } from '../task-definitions/validate-host-access';
import { buildTaskShape, type TaskOverrides } from '../tasks/build-task';
import type { ContainerRecord } from '../tasks/task-record';
import type { ClusterView } from './cluster-view';

export interface RunTaskInput {
  cluster?: string;
  taskDefinition: string;
  count?: number;
  group?: string;
  startedBy?: string;
  overrides?: TaskOverrides;
  placementStrategy?: PlacementStrategy[];
  placementConstraints?: PlacementConstraint[];
  launchType?: string;
  tags?: Tag[];
  clientToken?: string;
  [opaque: string]: unknown;
}

/** A task that could not be placed: the instance and why (ECS reasons, plus MISSING for an unknown instance). */
export interface TaskFailure {
  arn: string;
  reason: string;
}

export interface RunTaskPlan {
  rows: TaskRow[];
  failures: TaskFailure[];
  /** Set when the call replays an earlier one with the same clientToken. */
  replayedTaskArns?: string[];
}

const STARTED_BY_PATTERN = /^[a-zA-Z0-9_-]{1,128}$/;

function validateRunTaskInput(input: RunTaskInput): number {
  const count = input.count ?? 1;
  if (count < 1 || count > 10) throw invalidParameter(`count: must be between 1 and 10, got ${count}`);
  if (input.startedBy !== undefined && !STARTED_BY_PATTERN.test(input.startedBy)) {
    throw invalidParameter('startedBy: up to 128 letters, numbers, hyphens and underscores are allowed');
  }
  if (input.group !== undefined && (input.group.length < 1 || input.group.length > 255)) {
    throw invalidParameter('group: must be 1 to 255 characters');
  }
  if (input.launchType && input.launchType !== 'EC2' && input.launchType !== 'EXTERNAL') {
    throw invalidParameter(`launchType: ${input.launchType} is not supported by Berth; use EC2 or EXTERNAL`);
  }
  if (input.clientToken !== undefined && (input.clientToken.length < 1 || input.clientToken.length > 64)) {
    throw invalidParameter('clientToken: must be 1 to 64 characters');
  }
  return count;
}

/** The same clientToken with the same parameters gives back the first call's tasks; other parameters conflict. */
async function replayClientToken(deps: CoreDeps, clusterArn: string, input: RunTaskInput) {
  if (!input.clientToken) return undefined;
  const { clientToken: _token, cluster: _cluster, ...parameters } = input;
  const requestSha256 = await sha256Hex(JSON.stringify(parameters));
  const [previous] = await deps.db
    .select()
    .from(runTaskRequests)
    .where(
      and(eq(runTaskRequests.clusterArn, clusterArn), eq(runTaskRequests.clientToken, input.clientToken)),
    );
  if (!previous) return { requestSha256 };
  if (previous.requestSha256 !== requestSha256) {
    throw new EcsError(
      'ConflictException',
      `clientToken: '${input.clientToken}' was already used with different parameters`,
    );
  }
  const replayed = JSON.parse(previous.responseJson) as { taskArns: string[]; failures: TaskFailure[] };
  return { requestSha256, replayed };
}

export interface StartTaskInput {
  cluster?: string;
  taskDefinition: string;
  containerInstances: string[];
  group?: string;
  startedBy?: string;
  overrides?: TaskOverrides;
  tags?: Tag[];
  [opaque: string]: unknown;
}

/** What RunTask and StartTask share: the resolved definition, the task's shape and its placement rules. */
interface PreparedTask {
  definition: ReturnType<typeof toTaskDefinition>;
  shape: ReturnType<typeof buildTaskShape>;
  overrides: TaskOverrides;
  group: string;
  tags: Tag[];
  constraints: PlacementConstraint[];
}

async function prepareTask(
  deps: CoreDeps,
  input: { taskDefinition: string; overrides?: TaskOverrides; group?: string; tags?: Tag[] },
  callConstraints: PlacementConstraint[],
): Promise<PreparedTask> {
  const tags = validateTags(input.tags);
  const definitionRow = await requireTaskDefinition(deps, input.taskDefinition);
  const definition = toTaskDefinition(definitionRow);
  // A definition registered before host access was refused at registration must not run with it either.
  refuseHostAccess(definition);
  const overrides = input.overrides ?? {};
  const shape = buildTaskShape(definition, overrides);
  const constraints = [
    ...((definition.placementConstraints ?? []) as PlacementConstraint[]),
    ...callConstraints,
  ];
  return {
    definition,
    shape,
    overrides,
    group: input.group ?? `family:${definition.family}`,
    tags,
    constraints,
  };
}

function taskRow(
  deps: CoreDeps,
  cluster: { arn: string; name: string },
  prepared: PreparedTask,
  instanceArn: string,
  extra: { startedBy?: string; launchType?: string; clientToken?: string },
  nowMs: number,
): TaskRow {
  const id = deps.newId();
  const { definition, shape, overrides } = prepared;
  const containers: ContainerRecord[] = shape.specs.map((spec) => ({
    containerArn: containerArn(deps.config, cluster.name, id, deps.newId()),
    name: spec.name,
    image: spec.image,
    lastStatus: 'PENDING',
    networkBindings: [],
    spec,
  }));
  return {
    arn: taskArn(deps.config, cluster.name, id),
    clusterArn: cluster.arn,
    containerInstanceArn: instanceArn,
    taskDefinitionArn: definition.taskDefinitionArn,
    family: definition.family,
    revision: definition.revision,
    networkMode: shape.networkMode,
    group: prepared.group,
    startedBy: extra.startedBy ?? null,
    launchType: extra.launchType ?? 'EC2',
    lastStatus: 'PENDING',
    desiredStatus: 'RUNNING',
    generation: 1,
    reportSeq: -1,
    version: 1,
    cpu: shape.cpu,
    memoryMiB: shape.memoryMiB,
    containersJson: JSON.stringify(containers),
    overridesJson: JSON.stringify({
      containerOverrides: [],
      inferenceAcceleratorOverrides: [],
      ...overrides,
    }),
    tagsJson: JSON.stringify(prepared.tags),
    stopCode: null,
    stoppedReason: null,
    createdAtMs: nowMs,
    startedAtMs: null,
    pullStartedAtMs: null,
    pullStoppedAtMs: null,
    stoppingAtMs: null,
    stoppedAtMs: null,
    executionStoppedAtMs: null,
    clientToken: extra.clientToken ?? null,
  };
}

export async function planAndWriteRunTask(
  deps: CoreDeps,
  cluster: { arn: string; name: string },
  view: ClusterView,
  input: RunTaskInput,
  random: () => number,
): Promise<RunTaskPlan> {
  const count = validateRunTaskInput(input);
  const token = await replayClientToken(deps, cluster.arn, input);
  if (token?.replayed) {
    const rows = token.replayed.taskArns.length
      ? await deps.db.select().from(tasks).where(inArray(tasks.arn, token.replayed.taskArns))
      : [];
    return { rows, failures: token.replayed.failures, replayedTaskArns: token.replayed.taskArns };
  }
  const prepared = await prepareTask(deps, input, input.placementConstraints ?? []);
  const strategies = input.placementStrategy ?? [];
  validatePlacement(strategies, prepared.constraints);
  if (view.instances.size === 0) throw invalidParameter('No Container Instances were found in your cluster.');
  const placement = placeTasks(view.placementInstances(), {
    count,
    cpu: prepared.shape.cpu,
    memoryMiB: prepared.shape.memoryMiB,
    hostPorts: prepared.shape.staticHostPorts,
    group: prepared.group,
    strategies,
    constraints: prepared.constraints,
    random,
  });
  const nowMs = deps.now();
  const rows = placement.placements.map(({ instanceArn }) =>
    taskRow(deps, cluster, prepared, instanceArn, input, nowMs),
  );
  const writes = [];
  if (rows.length > 0) writes.push(deps.db.insert(tasks).values(rows));
  if (rows.length > 0) writes.push(taskEventsInsert(deps, rows));
  if (input.clientToken && token) {
    writes.push(
      deps.db.insert(runTaskRequests).values({
        clusterArn: cluster.arn,
        clientToken: input.clientToken,
        requestSha256: token.requestSha256,
        responseJson: JSON.stringify({ taskArns: rows.map((r) => r.arn), failures: placement.failures }),
        createdAtMs: nowMs,
      }),
    );
  }
  if (writes.length > 0) await deps.db.batch(writes as [(typeof writes)[number], ...typeof writes]);
  return { rows, failures: placement.failures };
}

/** StartTask: one task on each named container instance, with the same resource and constraint checks. */
export async function planAndWriteStartTask(
  deps: CoreDeps,
  cluster: { arn: string; name: string },
  view: ClusterView,
  input: StartTaskInput,
  random: () => number,
): Promise<RunTaskPlan> {
  if (input.containerInstances.length < 1 || input.containerInstances.length > 10) {
    throw invalidParameter('containerInstances: between 1 and 10 container instances must be given');
  }
  validateRunTaskInput({ ...input, count: 1 });
  const prepared = await prepareTask(deps, input, []);
  validatePlacement([], prepared.constraints);
  const nowMs = deps.now();
  const rows: TaskRow[] = [];
  const failures: TaskFailure[] = [];
  for (const reference of input.containerInstances) {
    const arn = arnInCluster(deps.config, 'container-instance', cluster.name, reference);
    const instance = view.instances.get(arn);
    if (!instance) {
      failures.push({ arn, reason: 'MISSING' });
      continue;
    }
    const placement = placeTasks([view.placementInstanceOf(arn)!], {
      count: 1,
      cpu: prepared.shape.cpu,
      memoryMiB: prepared.shape.memoryMiB,
      hostPorts: prepared.shape.staticHostPorts,
      group: prepared.group,
      strategies: [],
      constraints: prepared.constraints,
      random,
    });
    failures.push(...placement.failures);
    if (placement.placements.length === 0) continue;
    const row = taskRow(deps, cluster, prepared, arn, input, nowMs);
    // Track at once so the next named instance (or the same one named twice) sees this task's resources.
    view.trackTask(row);
    rows.push(row);
  }
  if (rows.length > 0) {
    await deps.db.batch([deps.db.insert(tasks).values(rows), taskEventsInsert(deps, rows)]);
  }
  return { rows, failures };
}
