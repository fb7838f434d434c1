/**
 * RunTask, a cluster command: resolve the task definition, place the tasks across the cluster's
 * instances, write every placed task (and the clientToken record) in one batch, then send them.
 */
import { inArray } from 'drizzle-orm';
import { runTaskRequests, tasks } from '../../../db/schema';
import type { RunTaskRequest } from '../../ecs-types.generated';
import { capacityProviderArn } from '../arn';
import { runTaskStrategy } from '../capacity-providers/strategy';
import type { ClusterCommand, CommandContext } from '../cluster/command-context';
import { invalidParameter } from '../errors';
import { taskEventsInsert } from '../events/task-events';
import {
  type PlacementRequest,
  placeTasks,
  placeTasksAcrossProviders,
  validatePlacement,
} from '../placement';
import {
  dispatchPlan,
  prepareTask,
  type RunTaskPlan,
  replayClientToken,
  taskRow,
  validateRunTaskInput,
} from './plan-tasks';
import { refuseServiceTagSource } from './task-tags';

/**
 * With `capacityProviderStrategy`, the tasks are placed across those providers' pools by base and
 * weight; without it, by the cluster's default strategy, unless `launchType` is given.
 */
export const runTask: ClusterCommand<RunTaskRequest, ReturnType<typeof dispatchPlan>> = async (ctx, input) =>
  dispatchPlan(ctx, await planAndWriteRunTask(ctx, input));

async function planAndWriteRunTask(ctx: CommandContext, input: RunTaskRequest): Promise<RunTaskPlan> {
  const { deps, cluster, view, random } = ctx;
  const count = validateRunTaskInput(input);
  const providerStrategy = await runTaskStrategy(deps, cluster, input);
  refuseServiceTagSource(input.propagateTags);
  const token = await replayClientToken(deps, cluster.arn, input);
  if (token?.replayed) {
    const rows = token.replayed.taskArns.length
      ? await deps.db.select().from(tasks).where(inArray(tasks.arn, token.replayed.taskArns))
      : [];
    return { rows, failures: token.replayed.failures, replayedTaskArns: token.replayed.taskArns };
  }
  const prepared = await prepareTask(deps, input, input.placementConstraints ?? [], cluster);
  const strategies = input.placementStrategy ?? [];
  validatePlacement(strategies, prepared.constraints);
  if (view.instances.size === 0) throw invalidParameter('No Container Instances were found in your cluster.');
  const request: PlacementRequest = {
    count,
    cpu: prepared.shape.cpu,
    memoryMiB: prepared.shape.memoryMiB,
    hostPorts: prepared.shape.staticHostPorts,
    group: prepared.group,
    strategies,
    constraints: prepared.constraints,
    random,
  };
  const placement = providerStrategy
    ? placeTasksAcrossProviders(view.placementInstances(), {
        ...request,
        strategy: providerStrategy,
        providerArn: (name) => capacityProviderArn(deps.config, name),
      })
    : placeTasks(view.placementInstances(), request);
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
