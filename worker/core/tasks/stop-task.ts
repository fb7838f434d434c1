/**
 * StopTask, a cluster command: records the stop (desired STOPPED, UserInitiated, a new generation)
 * durably, then tells the task's agent. An agent that is away hears it in its next welcome.
 */
import { and, eq } from 'drizzle-orm';
import { type TaskRow, tasks } from '../../../db/schema';
import type { StopTaskRequest, Task } from '../../ecs-types.generated';
import { arnInCluster } from '../arn';
import type { ClusterCommand, CommandContext } from '../cluster/command-context';
import { invalidParameter } from '../errors';
import { taskStateOf, toEcsTask } from './task-record';
import { requestStop } from './transitions';

export const stopTask: ClusterCommand<StopTaskRequest, { task: Task }> = async (ctx, input) => {
  if (input.reason !== undefined && input.reason.length > 255) {
    throw invalidParameter('reason: must be at most 255 characters');
  }
  const row = await findTask(ctx, input.task);
  const next = requestStop(
    taskStateOf(row),
    'UserInitiated',
    input.reason ?? 'Task stopped by user',
    ctx.deps.now(),
  );
  if (!next) return { task: toEcsTask(row, { tags: false }) };
  const updated = await ctx.saveTask(row, next);
  ctx.sendToInstance(updated.containerInstanceArn, {
    type: 'stopTask',
    messageId: ctx.deps.newId(),
    taskArn: updated.arn,
    generation: next.generation,
    reason: next.stoppedReason ?? '',
  });
  return { task: toEcsTask(updated, { tags: false }) };
};

/** A task of this cluster, by ARN or id: from the view when it has not stopped, else from the database. */
async function findTask(ctx: CommandContext, reference: string): Promise<TaskRow> {
  const arn = arnInCluster(ctx.deps.config, 'task', ctx.cluster.name, reference);
  const cached = ctx.view.taskRows.get(arn);
  if (cached) return cached;
  const [row] = await ctx.deps.db
    .select()
    .from(tasks)
    .where(and(eq(tasks.clusterArn, ctx.cluster.arn), eq(tasks.arn, arn)));
  if (!row) throw invalidParameter('task: The referenced task was not found.');
  return row;
}
