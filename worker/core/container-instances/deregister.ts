/**
 * DeregisterContainerInstance, a cluster command. An instance with active tasks is refused unless
 * `force`; forced, its tasks are stopped (the agent is told, and the control plane records them
 * STOPPED itself, since the instance is leaving). The agent's socket is closed and its credential
 * is refused from then on (the agent may register again, as a new instance).
 */
import { and, eq, inArray, ne } from 'drizzle-orm';
import { containerInstances, tasks } from '../../../db/schema';
import { CLOSE_CODES } from '../../../protocol/agent-protocol';
import type {
  DeregisterContainerInstanceRequest,
  DeregisterContainerInstanceResponse,
} from '../../ecs-types.generated';
import { arnInCluster } from '../arn';
import type { ClusterCommand } from '../cluster/command-context';
import { invalidParameter } from '../errors';
import { instanceEventInsert } from '../events/instance-events';
import { taskStateOf } from '../tasks/task-record';
import { stopWithoutAgent } from '../tasks/transitions';
import { describeContainerInstances } from './container-instances';

/** The stop reason of the tasks of a force-deregistered instance (not their fault: services don't count them as failed). */
export const DEREGISTERED_REASON = 'Container instance deregistered';

export const deregisterContainerInstance: ClusterCommand<
  DeregisterContainerInstanceRequest,
  DeregisterContainerInstanceResponse
> = async (ctx, input) => {
  const { deps, cluster, view } = ctx;
  const arn = arnInCluster(deps.config, 'container-instance', cluster.name, input.containerInstance);
  const instance = view.instances.get(arn);
  if (!instance)
    throw invalidParameter(`containerInstance: ${input.containerInstance} was not found in ${cluster.name}`);
  const active = await deps.db
    .select()
    .from(tasks)
    .where(and(inArray(tasks.containerInstanceArn, [arn]), ne(tasks.lastStatus, 'STOPPED')));
  if (active.length > 0 && !input.force) {
    throw invalidParameter(
      `containerInstance: it has ${active.length} active tasks; stop them first or pass force to deregister anyway`,
    );
  }
  const nowMs = deps.now();
  for (const row of active) {
    ctx.sendToInstance(arn, {
      type: 'stopTask',
      messageId: deps.newId(),
      taskArn: row.arn,
      generation: row.generation + 1,
      reason: DEREGISTERED_REASON,
    });
    await ctx.saveTask(
      row,
      stopWithoutAgent(taskStateOf(row), 'TaskFailedToStart', DEREGISTERED_REASON, nowMs),
    );
  }
  const row = {
    ...instance.row,
    status: 'INACTIVE' as const,
    agentConnected: false,
    version: instance.row.version + 1,
  };
  await deps.db.batch([
    deps.db
      .update(containerInstances)
      .set({ status: row.status, agentConnected: false, version: row.version })
      .where(eq(containerInstances.arn, arn)),
    instanceEventInsert(deps, row),
  ]);
  view.removeInstance(arn);
  ctx.eventsWritten();
  ctx.disconnectAgent(arn, CLOSE_CODES.deregistered, 'container instance deregistered');
  const described = await describeContainerInstances(deps, {
    cluster: cluster.name,
    containerInstances: [row.arn],
  });
  return { containerInstance: described.containerInstances[0] };
};
