/**
 * What RunTask and StartTask share: their inputs, validation, clientToken replay, the resolved task
 * definition and the task rows they write. Both are cluster commands (run-task.ts, start-task.ts):
 * every placed task is written, with its events, before any agent hears of it.
 */
import { and, eq } from 'drizzle-orm';
import { type ClusterRow, runTaskRequests, type TaskRow } from '../../../db/schema';
import type { Failure, RunTaskRequest, TaskOverride } from '../../ecs-types.generated';
import { containerArn, taskArn } from '../arn';
import type { CommandContext } from '../cluster/command-context';
import { containerPolicyOf, enforceContainerPolicy } from '../clusters/container-policy';
import type { CoreDeps } from '../deps';
import { EcsError, invalidParameter } from '../errors';
import type { PlacementConstraint } from '../placement';
import { sha256Hex } from '../sha256';
import type { Tag } from '../tags';
import { requireTaskDefinition, toTaskDefinition } from '../task-definitions/task-definitions';
import { buildTaskShape } from './build-task';
import { type ContainerRecord, desiredTaskOf, toEcsTask } from './task-record';
import { tagsForNewTask } from './task-tags';

/** A task that could not be placed: the instance and why (ECS reasons, plus MISSING for an unknown instance). */
export type TaskFailure = Failure & { arn: string; reason: string };

export interface RunTaskPlan {
  rows: TaskRow[];
  failures: TaskFailure[];
  /** Set when the call replays an earlier one with the same clientToken. */
  replayedTaskArns?: string[];
}

const STARTED_BY_PATTERN = /^[a-zA-Z0-9_-]{1,128}$/;

export function validateRunTaskInput(
  input: Pick<RunTaskRequest, 'count' | 'startedBy' | 'group' | 'launchType' | 'clientToken'>,
): number {
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
export async function replayClientToken(deps: CoreDeps, clusterArn: string, input: RunTaskRequest) {
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

/** What RunTask and StartTask share: the resolved definition, the task's shape and its placement rules. */
export interface PreparedTask {
  definition: ReturnType<typeof toTaskDefinition>;
  shape: ReturnType<typeof buildTaskShape>;
  overrides: TaskOverride;
  group: string;
  tags: Tag[];
  constraints: PlacementConstraint[];
}

export async function prepareTask(
  deps: CoreDeps,
  input: Pick<RunTaskRequest, 'taskDefinition' | 'overrides' | 'group' | 'tags' | 'propagateTags'>,
  callConstraints: PlacementConstraint[],
  cluster: Pick<ClusterRow, 'name' | 'containerPolicyJson'>,
): Promise<PreparedTask> {
  const definitionRow = await requireTaskDefinition(deps, input.taskDefinition);
  const tags = tagsForNewTask(input, definitionRow);
  const definition = toTaskDefinition(definitionRow);
  // Checked at every launch, so a policy tightened after a service was created stops its new tasks.
  const policy = containerPolicyOf(cluster);
  enforceContainerPolicy(definition, policy, cluster.name);
  const overrides = input.overrides ?? {};
  const shape = buildTaskShape(definition, overrides, policy);
  const constraints = [...definition.placementConstraints, ...callConstraints];
  return {
    definition,
    shape,
    overrides,
    group: input.group ?? `family:${definition.family}`,
    tags,
    constraints,
  };
}

export function taskRow(
  deps: CoreDeps,
  cluster: { arn: string; name: string },
  prepared: PreparedTask,
  instanceArn: string,
  extra: Pick<RunTaskRequest, 'startedBy' | 'launchType' | 'clientToken' | 'enableExecuteCommand'>,
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
    enableExecuteCommand: extra.enableExecuteCommand ?? false,
  };
}

/**
 * After a plan is durable: track its tasks, tell their agents, and answer with the tasks in the
 * order they were created (for a clientToken replay, in the first call's order).
 */
export function dispatchPlan(ctx: CommandContext, plan: RunTaskPlan) {
  if (!plan.replayedTaskArns) {
    ctx.tasksCreated(plan.rows);
    for (const row of plan.rows) {
      ctx.sendToInstance(row.containerInstanceArn, {
        type: 'runTask',
        messageId: ctx.deps.newId(),
        task: desiredTaskOf(row),
      });
    }
  }
  const byArn = new Map(plan.rows.map((r) => [r.arn, r]));
  const ordered = plan.replayedTaskArns ? plan.replayedTaskArns.map((a) => byArn.get(a)) : plan.rows;
  return {
    tasks: ordered.filter((row) => row !== undefined).map((row) => toEcsTask(row, { tags: true })),
    failures: plan.failures,
  };
}
