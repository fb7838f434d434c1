/**
 * StartTask, a cluster command: one task on each named container instance, with the same resource
 * and constraint checks as RunTask, written in one batch before any agent hears of them.
 */
import { type TaskRow, tasks } from '../../../db/schema';
import type { StartTaskRequest } from '../../ecs-types.generated';
import { arnInCluster } from '../arn';
import type { ClusterCommand, CommandContext } from '../cluster/command-context';
import { invalidParameter } from '../errors';
import { taskEventsInsert } from '../events/task-events';
import { placeTasks, validatePlacement } from '../placement';
import {
  dispatchPlan,
  prepareTask,
  type RunTaskPlan,
  type TaskFailure,
  taskRow,
  validateRunTaskInput,
} from './plan-tasks';

export const startTask: ClusterCommand<StartTaskRequest, ReturnType<typeof dispatchPlan>> = async (
  ctx,
  input,
) => dispatchPlan(ctx, await planAndWriteStartTask(ctx, input));

async function planAndWriteStartTask(ctx: CommandContext, input: StartTaskRequest): Promise<RunTaskPlan> {
  const { deps, cluster, view, random } = ctx;
  if (input.containerInstances.length < 1 || input.containerInstances.length > 10) {
    throw invalidParameter('containerInstances: between 1 and 10 container instances must be given');
  }
  validateRunTaskInput({ ...input, count: 1 });
  const prepared = await prepareTask(deps, input, [], cluster);
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
