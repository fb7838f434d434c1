/**
 * RunTask inside a cluster's coordinator: resolve the task definition, place the tasks, and write
 * every placed task (and the clientToken record) in one batch, before any agent hears of them.
 */
import { and, eq, inArray } from 'drizzle-orm';
import { runTaskRequests, tasks, type TaskRow } from '../../../db/schema';
import { containerArn, taskArn } from '../arn';
import type { CoreDeps } from '../deps';
import { EcsError, invalidParameter } from '../errors';
import {
  type PlacementConstraint,
  type PlacementFailure,
  type PlacementStrategy,
  placeTasks,
  validatePlacement,
} from '../placement';
import { type Tag, validateTags } from '../tags';
import { requireTaskDefinition, toTaskDefinition } from '../task-definitions/task-definitions';
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

export interface RunTaskPlan {
  rows: TaskRow[];
  failures: PlacementFailure[];
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

async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
}

/** The same clientToken with the same parameters gives back the first call's tasks; other parameters conflict. */
async function replayClientToken(deps: CoreDeps, clusterArn: string, input: RunTaskInput) {
  if (!input.clientToken) return undefined;
  const { clientToken: _token, cluster: _cluster, ...parameters } = input;
  const requestSha256 = await sha256Hex(JSON.stringify(parameters));
  const [previous] = await deps.db
    .select()
    .from(runTaskRequests)
    .where(and(eq(runTaskRequests.clusterArn, clusterArn), eq(runTaskRequests.clientToken, input.clientToken)));
  if (!previous) return { requestSha256 };
  if (previous.requestSha256 !== requestSha256) {
    throw new EcsError(
      'ConflictException',
      `clientToken: '${input.clientToken}' was already used with different parameters`,
    );
  }
  const replayed = JSON.parse(previous.responseJson) as { taskArns: string[]; failures: PlacementFailure[] };
  return { requestSha256, replayed };
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
  const tags = validateTags(input.tags);
  const definitionRow = await requireTaskDefinition(deps, input.taskDefinition);
  if (definitionRow.status === 'DELETE_IN_PROGRESS') {
    throw new EcsError('ClientException', 'TaskDefinition is being deleted.');
  }
  const definition = toTaskDefinition(definitionRow);
  const overrides = input.overrides ?? {};
  const shape = buildTaskShape(definition, overrides);
  const strategies = input.placementStrategy ?? [];
  const constraints = [
    ...((definition.placementConstraints ?? []) as PlacementConstraint[]),
    ...(input.placementConstraints ?? []),
  ];
  validatePlacement(strategies, constraints);
  if (view.instances.size === 0) throw invalidParameter('No Container Instances were found in your cluster.');
  const group = input.group ?? `family:${definition.family}`;
  const placement = placeTasks(view.placementInstances(), {
    count,
    cpu: shape.cpu,
    memoryMiB: shape.memoryMiB,
    hostPorts: shape.staticHostPorts,
    group,
    strategies,
    constraints,
    random,
  });

  const nowMs = deps.now();
  const rows: TaskRow[] = placement.placements.map(({ instanceArn }) => {
    const id = deps.newId();
    const arn = taskArn(deps.config, cluster.name, id);
    const containers: ContainerRecord[] = shape.specs.map((spec) => ({
      containerArn: containerArn(deps.config, cluster.name, id, deps.newId()),
      name: spec.name,
      image: spec.image,
      lastStatus: 'PENDING',
      networkBindings: [],
      spec,
    }));
    return {
      arn,
      clusterArn: cluster.arn,
      containerInstanceArn: instanceArn,
      taskDefinitionArn: definition.taskDefinitionArn,
      family: definition.family,
      revision: definition.revision,
      networkMode: shape.networkMode,
      group,
      startedBy: input.startedBy ?? null,
      launchType: input.launchType ?? 'EC2',
      lastStatus: 'PENDING',
      desiredStatus: 'RUNNING',
      generation: 1,
      reportSeq: -1,
      version: 1,
      cpu: shape.cpu,
      memoryMiB: shape.memoryMiB,
      containersJson: JSON.stringify(containers),
      overridesJson: JSON.stringify({ containerOverrides: overrides.containerOverrides ?? [], ...overrides }),
      tagsJson: JSON.stringify(tags),
      stopCode: null,
      stoppedReason: null,
      createdAtMs: nowMs,
      startedAtMs: null,
      pullStartedAtMs: null,
      pullStoppedAtMs: null,
      stoppingAtMs: null,
      stoppedAtMs: null,
      executionStoppedAtMs: null,
      clientToken: input.clientToken ?? null,
    };
  });

  const writes = [];
  if (rows.length > 0) writes.push(deps.db.insert(tasks).values(rows));
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
