/**
 * Which container an exec or a logs request reaches, with ECS ExecuteCommand's errors: the task
 * (an id or an ARN of this cluster), the container (optional only for single-container tasks),
 * exec turned on when the task was run, the task not stopped, its agent connected.
 */
import { and, eq } from 'drizzle-orm';
import { type ClusterRow, type TaskRow, tasks } from '../../../db/schema';
import { arnInCluster } from '../arn';
import type { CoreDeps } from '../deps';
import { EcsError, excerpt, invalidParameter } from '../errors';
import { type ContainerRecord, taskStateOf } from '../tasks/task-record';

export const EXEC_NOT_ENABLED_MESSAGE =
  "The execute command failed because execute command was not enabled when the task was run or the execute command agent isn't running. Wait and try again or run a new task with execute command enabled and try again.";
export const TARGET_NOT_CONNECTED_MESSAGE =
  'The execute command failed due to an internal error. Try again later.';

export interface ExecTarget {
  task: TaskRow;
  container: ContainerRecord;
  containerRuntimeId: string;
  instanceArn: string;
}

export const targetNotConnected = () =>
  new EcsError('TargetNotConnectedException', TARGET_NOT_CONNECTED_MESSAGE);

export async function findTaskContainer(
  deps: CoreDeps,
  cluster: ClusterRow,
  taskReference: string | undefined,
  containerName: string | undefined,
): Promise<{ task: TaskRow; container: ContainerRecord }> {
  if (!taskReference) throw invalidParameter('task: required field is missing');
  const arn = arnInCluster(deps.config, 'task', cluster.name, taskReference);
  const [task] = await deps.db
    .select()
    .from(tasks)
    .where(and(eq(tasks.arn, arn), eq(tasks.clusterArn, cluster.arn)));
  if (!task)
    throw invalidParameter(`task: The task '${excerpt(taskReference)}' was not found in the cluster.`);
  const containers = taskStateOf(task).containers;
  let container: ContainerRecord | undefined;
  if (containerName === undefined) {
    if (containers.length !== 1) {
      throw invalidParameter(
        'container: The task has more than one container; name the container to run the command in.',
      );
    }
    container = containers[0];
  } else {
    container = containers.find((c) => c.name === containerName);
    if (!container)
      throw invalidParameter(
        `container: The container '${excerpt(containerName)}' was not found in the task.`,
      );
  }
  return { task, container: container! };
}

/** The container to exec into: running, exec on (when `requireEnabled`), on a task whose instance is known. */
export async function execTarget(
  deps: CoreDeps,
  cluster: ClusterRow,
  input: { task?: string; container?: string },
  requireEnabled: boolean,
): Promise<ExecTarget> {
  const { task, container } = await findTaskContainer(deps, cluster, input.task, input.container);
  if (requireEnabled && !task.enableExecuteCommand) throw invalidParameter(EXEC_NOT_ENABLED_MESSAGE);
  if (task.lastStatus === 'STOPPED' || task.desiredStatus === 'STOPPED') {
    throw invalidParameter(`The execute command failed because the task is stopped (${task.lastStatus}).`);
  }
  if (container.lastStatus !== 'RUNNING' || !container.runtimeId || !task.containerInstanceArn) {
    throw invalidParameter(EXEC_NOT_ENABLED_MESSAGE);
  }
  return {
    task,
    container,
    containerRuntimeId: container.runtimeId,
    instanceArn: task.containerInstanceArn,
  };
}

/** The container to read logs from: any task, running or stopped, whose container was created. */
export async function logsTarget(
  deps: CoreDeps,
  cluster: ClusterRow,
  input: { task?: string; container?: string },
): Promise<ExecTarget> {
  const { task, container } = await findTaskContainer(deps, cluster, input.task, input.container);
  if (!container.runtimeId || !task.containerInstanceArn) {
    throw invalidParameter(
      `container: The container '${container.name}' was never created, so it has no logs.`,
    );
  }
  return { task, container, containerRuntimeId: container.runtimeId, instanceArn: task.containerInstanceArn };
}
