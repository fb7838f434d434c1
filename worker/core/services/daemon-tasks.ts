/**
 * The room's side of a DAEMON service: runs the pure daemon scheduler against the room's view of
 * the instances, starts the tasks it decides on the instances it names (no placement choice to
 * make: the instance is given), and words its placement failures as ECS does.
 */
import type { ServiceDeploymentRow, ServiceRow } from '../../../db/schema';
import { tasks } from '../../../db/schema';
import type { PlacementConstraint } from '../../ecs-types.generated';
import { resourceIdOf } from '../arn';
import type { CommandContext } from '../cluster/command-context';
import { EcsError } from '../errors';
import { taskEventsInsert } from '../events/task-events';
import type { PlacementFailureReason } from '../placement/types';
import { dispatchPlan, type PreparedTask, prepareTask, taskRow } from '../tasks/plan-tasks';
import { type DaemonDecisions, scheduleDaemonService } from './daemon-scheduler';
import type { ScheduleOptions, SchedulerDeployment, SchedulerTask } from './replica-scheduler';
import { serviceEventText } from './service-events';
import { deploymentConfigurationOf, serviceGroup } from './service-record';

export interface DaemonStep {
  decisions: DaemonDecisions;
  /** Starts one task of the PRIMARY deployment on each instance the decisions name; returns their ids. */
  start(): Promise<string[]>;
  /** The service event for instances that should run the daemon and have no room for it. */
  placementMessages: string[];
}

export async function scheduleDaemonInRoom(
  ctx: CommandContext,
  service: ServiceRow,
  primary: ServiceDeploymentRow | undefined,
  deployments: readonly SchedulerDeployment[],
  schedulerTasks: readonly SchedulerTask[],
  options: ScheduleOptions,
): Promise<DaemonStep> {
  const serviceConstraints = JSON.parse(service.placementConstraintsJson) as PlacementConstraint[];
  const prepared =
    service.status === 'ACTIVE' && primary
      ? await prepareDaemonTask(ctx, service, primary, serviceConstraints)
      : undefined;
  const bounds = deploymentConfigurationOf(service);
  const decisions = scheduleDaemonService(
    {
      status: service.status,
      minimumHealthyPercent: bounds.minimumHealthyPercent,
      maximumPercent: bounds.maximumPercent,
      group: serviceGroup(service.name),
      constraints: prepared?.constraints ?? serviceConstraints,
      cpu: prepared?.shape.cpu ?? 0,
      memoryMiB: prepared?.shape.memoryMiB ?? 0,
      hostPorts: prepared?.shape.staticHostPorts ?? [],
    },
    deployments,
    schedulerTasks,
    ctx.view.placementInstances(),
    options,
  );
  return {
    decisions,
    start: () =>
      prepared && primary
        ? startDaemonTasks(ctx, service, primary, prepared, decisions.startOn)
        : Promise.resolve([]),
    // One event naming the first such instance: the same text each time, so the log's duplicate
    // suppression keeps it to one entry while the cause lasts (one per instance would alternate).
    placementMessages: decisions.unplaced
      .slice(0, 1)
      .map(({ instanceId, reason }) => unableToPlaceOn(service.name, instanceId, reason)),
  };
}

/**
 * The PRIMARY deployment's task, as placement prepares it. A definition that can't be read (deleted
 * since) starts nothing, but must not keep the scheduler from stopping what should stop: the
 * decisions are still made, without the task's size.
 */
async function prepareDaemonTask(
  ctx: CommandContext,
  service: ServiceRow,
  primary: ServiceDeploymentRow,
  serviceConstraints: PlacementConstraint[],
): Promise<PreparedTask | undefined> {
  try {
    return await prepareTask(
      ctx.deps,
      {
        taskDefinition: primary.taskDefinitionArn,
        group: serviceGroup(service.name),
        propagateTags: service.propagateTags === 'TASK_DEFINITION' ? 'TASK_DEFINITION' : 'NONE',
        tags: service.propagateTags === 'SERVICE' ? JSON.parse(service.tagsJson) : undefined,
      },
      serviceConstraints,
      ctx.cluster,
    );
  } catch (error) {
    if (!(error instanceof EcsError)) throw error;
    ctx.log(`service ${service.name}: ${error.message}`);
    return undefined;
  }
}

/** Starts one task of `primary` on each of `instanceArns`, exactly as placement's tasks are started. */
async function startDaemonTasks(
  ctx: CommandContext,
  service: ServiceRow,
  primary: ServiceDeploymentRow,
  prepared: PreparedTask,
  instanceArns: readonly string[],
): Promise<string[]> {
  if (instanceArns.length === 0) return [];
  const { deps, cluster } = ctx;
  const nowMs = deps.now();
  const launchType = (service.launchType ?? 'EC2') as 'EC2' | 'EXTERNAL';
  const rows = instanceArns.map((instanceArn) =>
    taskRow(
      deps,
      cluster,
      prepared,
      instanceArn,
      { startedBy: primary.id, launchType, enableExecuteCommand: service.enableExecuteCommand },
      nowMs,
    ),
  );
  await deps.db.batch([deps.db.insert(tasks).values(rows), taskEventsInsert(deps, rows)]);
  dispatchPlan(ctx, { rows, failures: [] });
  return rows.map((r) => resourceIdOf(r.arn));
}

/** ECS's placement-failure event with the variant naming what the instance lacks. */
export function unableToPlaceOn(service: string, instanceId: string, reason: PlacementFailureReason): string {
  const closest = `The closest matching (container-instance ${instanceId})`;
  const detail: Partial<Record<PlacementFailureReason, string>> = {
    'RESOURCE:CPU': `${closest} has insufficient CPU units available.`,
    'RESOURCE:MEMORY': `${closest} has insufficient memory available.`,
    'RESOURCE:PORTS': `${closest} is already using a port required by your task.`,
    AGENT: `${closest} encountered error "AGENT".`,
  };
  const extra = detail[reason];
  return extra
    ? `${serviceEventText.unableToPlace(service)} ${extra}`
    : serviceEventText.unableToPlace(service);
}
