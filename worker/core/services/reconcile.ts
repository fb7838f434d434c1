/**
 * Runs the REPLICA scheduler for a service and carries out its decisions, inside the cluster's room
 * (so placement sees an exact view): stop tasks, place and start new ones, move deployments along,
 * write the service's events, and ask for a `serviceStep:<name>` deadline when time alone will
 * change something (a task turning healthy by age, a placement to retry). It is called whenever
 * something the scheduler depends on changed: a service API call, a batch of task reports touching
 * the service's tasks, an instance joining, draining, leaving or losing its agent, and that
 * deadline. State lives in the database, so a restarted room recomputes the same step.
 */
import { and, eq, inArray, ne } from 'drizzle-orm';
import {
  type ServiceDeploymentRow,
  type ServiceRow,
  serviceDeployments,
  services,
  type TaskRow,
  tasks,
} from '../../../db/schema';
import type { PlacementConstraint, PlacementStrategy, ServiceEvent, Tag } from '../../ecs-types.generated';
import { capacityProviderArn, resourceIdOf } from '../arn';
import { validateStrategy } from '../capacity-providers/strategy';
import type { CommandContext } from '../cluster/command-context';
import type { Alongside, TaskChange } from '../cluster/save-task';
import { EcsError } from '../errors';
import { taskEventsInsert } from '../events/task-events';
import { placeTasks, placeTasksAcrossProviders } from '../placement';
import { dispatchPlan, prepareTask, taskRow } from '../tasks/plan-tasks';
import { taskStateOf } from '../tasks/task-record';
import { requestStop } from '../tasks/transitions';
import { type SchedulerTask, scheduleReplicaService } from './replica-scheduler';
import { schedulerInputsOf } from './scheduler-inputs';
import { appendServiceEvents, rolloutReason, serviceEventText } from './service-events';
import { deploymentConfigurationOf, serviceArn, serviceGroup } from './service-record';
import { TASK_HEALTHY_AFTER_RUNNING_MS } from './task-health';

export const SERVICE_STEP = 'serviceStep';
/** How soon a service whose tasks could not all be placed tries again (instances joining also retry at once). */
export const PLACEMENT_RETRY_MS = 15_000;
/** While a deployment is in progress the room looks again at least this often, so a restart never strands it. */
export const DEPLOYMENT_WATCH_MS = 30_000;
/** ECS's default strategy for service tasks, without zones: spread across instances. */
const DEFAULT_SERVICE_STRATEGY: PlacementStrategy[] = [{ type: 'spread', field: 'instanceId' }];

/** The names of the services whose tasks are among `rows`. */
export function servicesOfTasks(rows: readonly Pick<TaskRow, 'group'>[]): string[] {
  const names = new Set<string>();
  for (const row of rows) if (row.group.startsWith('service:')) names.add(row.group.slice('service:'.length));
  return [...names];
}

/** Every ACTIVE or DRAINING service of the cluster (an instance changed: any of them may care). */
export async function reconcileAllServices(ctx: CommandContext): Promise<void> {
  const rows = await ctx.deps.db
    .select({ name: services.name })
    .from(services)
    .where(and(eq(services.clusterArn, ctx.cluster.arn), ne(services.status, 'INACTIVE')));
  await reconcileServices(
    ctx,
    rows.map((r) => r.name),
  );
}

export async function reconcileServices(ctx: CommandContext, names: readonly string[]): Promise<void> {
  for (const name of names) {
    try {
      await reconcileService(ctx, name);
    } catch (error) {
      // One service's trouble (a deleted task definition, ...) must not stop the others or the
      // report batch that triggered it; the deadline below brings it back.
      if (!(error instanceof EcsError)) throw error;
      ctx.log(`service ${name}: ${error.message}`);
    }
  }
}

export function serviceTasksInView(ctx: CommandContext, name: string): TaskRow[] {
  const group = serviceGroup(name);
  return [...ctx.view.taskRows.values()].filter((t) => t.group === group);
}

export async function reconcileService(ctx: CommandContext, name: string): Promise<void> {
  const { deps, cluster } = ctx;
  const arn = serviceArn(deps.config, cluster.name, name);
  const [service] = await deps.db.select().from(services).where(eq(services.arn, arn));
  if (!service || service.status === 'INACTIVE') {
    await ctx.deadlines.cancel(SERVICE_STEP, name);
    return;
  }
  const deployments = await deps.db
    .select()
    .from(serviceDeployments)
    .where(and(eq(serviceDeployments.serviceArn, arn), ne(serviceDeployments.status, 'INACTIVE')));
  const primary = deployments.find((d) => d.status === 'PRIMARY');
  const rows = serviceTasksInView(ctx, name);
  const nowMs = deps.now();
  const healthyAfterMs = deps.config.taskHealthyAfterMs ?? TASK_HEALTHY_AFTER_RUNNING_MS;
  const bounds = deploymentConfigurationOf(service);
  const decisions = scheduleReplicaService(
    { status: service.status, desiredCount: service.desiredCount, ...bounds },
    deployments.flatMap((d) => (d.status === 'INACTIVE' ? [] : [{ ...d, status: d.status }])),
    rows.map((row) => schedulerTask(ctx, row, nowMs, service.healthCheckGracePeriodSeconds * 1000)),
    { nowMs, healthyAfterMs },
  );

  const messages: string[] = [];
  const scalingId = primary?.id ?? deployments[0]?.id ?? 'ecs-svc/0';
  const stops: TaskChange[] = [];
  for (const { taskArn, why } of decisions.stop) {
    const row = ctx.view.taskRows.get(taskArn);
    if (!row) continue;
    if (why === 'unhealthy') messages.push(serviceEventText.failedHealthChecks(name, resourceIdOf(row.arn)));
    const next = requestStop(
      taskStateOf(row),
      'ServiceSchedulerInitiated',
      `Scaling activity initiated by (deployment ${scalingId})`,
      nowMs,
    );
    if (next) stops.push({ row, next });
  }
  const stoppedIds = stops.map((s) => resourceIdOf(s.row.arn));
  if (stoppedIds.length > 0) messages.push(serviceEventText.stopped(name, stoppedIds));

  // Placement only reads the view, and a stop requested above frees nothing until its task is
  // STOPPED, so the starts are planned now and written in the same transaction as everything else.
  let retryPlacement = false;
  let starts: TaskRow[] = [];
  let cannotStart: EcsError | undefined;
  if (decisions.start > 0 && primary) {
    try {
      starts = await placeStarts(ctx, service, primary, decisions.start);
    } catch (error) {
      // A service whose task definition is gone still stops what it must, then reports the error.
      if (!(error instanceof EcsError)) throw error;
      cannotStart = error;
    }
    if (cannotStart) {
      await ctx.saveTasks(stops);
      sendStops(ctx, stops);
      throw cannotStart;
    }
    const startedIds = starts.map((r) => resourceIdOf(r.arn));
    if (startedIds.length > 0) messages.push(serviceEventText.started(name, startedIds));
    if (starts.length < decisions.start) {
      messages.push(serviceEventText.unableToPlace(name));
      retryPlacement = true;
    }
  }
  if (decisions.blocked) messages.push(serviceEventText.blocked(name));

  const writes: Alongside = [];
  if (starts.length > 0) writes.push(deps.db.insert(tasks).values(starts), taskEventsInsert(deps, starts));
  const finished = decisions.finishedDeployments;
  if (finished.length > 0) {
    writes.push(
      deps.db
        .update(serviceDeployments)
        .set({ status: 'INACTIVE', updatedAtMs: nowMs })
        .where(inArray(serviceDeployments.id, finished)),
    );
  }
  if (decisions.primaryCompleted && primary) {
    writes.push(
      deps.db
        .update(serviceDeployments)
        .set({
          rolloutState: 'COMPLETED',
          rolloutStateReason: rolloutReason.completed(primary.id),
          updatedAtMs: nowMs,
        })
        .where(eq(serviceDeployments.id, primary.id)),
    );
    messages.push(serviceEventText.deploymentCompleted(name, primary.id));
  }
  if (decisions.steady) messages.push(serviceEventText.steadyState(name));
  const events = appendServiceEvents(
    JSON.parse(service.eventsJson) as ServiceEvent[],
    messages,
    nowMs,
    deps.newId,
  );
  const status = decisions.serviceInactive ? 'INACTIVE' : service.status;
  if (messages.length > 0 || status !== service.status) {
    writes.push(
      deps.db
        .update(services)
        .set({ eventsJson: JSON.stringify(events), status })
        .where(eq(services.arn, arn)),
    );
  }
  // One transaction for the whole step; agents hear of it only once it is durable.
  if (stops.length > 0 || writes.length > 0) await ctx.saveTasks(stops, writes);
  sendStops(ctx, stops);
  if (starts.length > 0) dispatchPlan(ctx, { rows: starts, failures: [] });

  await armStep(ctx, name, decisions.nextCheckAtMs, retryPlacement, primary, decisions.steady, status);
}

async function armStep(
  ctx: CommandContext,
  name: string,
  nextCheckAtMs: number | undefined,
  retryPlacement: boolean,
  primary: ServiceDeploymentRow | undefined,
  steady: boolean,
  status: ServiceRow['status'],
): Promise<void> {
  const nowMs = ctx.deps.now();
  const candidates: number[] = [];
  if (nextCheckAtMs !== undefined) candidates.push(nextCheckAtMs);
  if (retryPlacement) candidates.push(nowMs + PLACEMENT_RETRY_MS);
  if (
    status !== 'INACTIVE' &&
    !steady &&
    (primary?.rolloutState === 'IN_PROGRESS' || status === 'DRAINING')
  ) {
    candidates.push(nowMs + DEPLOYMENT_WATCH_MS);
  }
  if (candidates.length === 0) {
    if (ctx.deadlines.has(SERVICE_STEP, name)) await ctx.deadlines.cancel(SERVICE_STEP, name);
    return;
  }
  // An earlier look already due is kept: moving it on every step would cost a write per report.
  await ctx.deadlines.scheduleNoLaterThan(SERVICE_STEP, name, Math.max(nowMs, Math.min(...candidates)), {
    persist: true,
  });
}

/** The `serviceStep:<name>` deadline: time changed something the service waits on. */
export async function serviceStepDue(ctx: CommandContext, name: string): Promise<void> {
  await reconcileServices(ctx, [name]);
}

function schedulerTask(
  ctx: CommandContext,
  row: TaskRow,
  nowMs: number,
  gracePeriodMs: number,
): SchedulerTask {
  const instance = row.containerInstanceArn ? ctx.view.instances.get(row.containerInstanceArn) : undefined;
  const inputs = schedulerInputsOf(row);
  // healthCheckGracePeriodSeconds: an UNHEALTHY verdict this soon after the task started is ignored.
  const inGrace = row.startedAtMs === null || nowMs < row.startedAtMs + gracePeriodMs;
  if (inputs.healthStatus === 'UNHEALTHY' && inGrace && gracePeriodMs > 0) inputs.healthStatus = 'UNKNOWN';
  return { arn: row.arn, ...inputs, onDrainingInstance: instance?.row.status === 'DRAINING' };
}

/** Places up to `count` tasks of the PRIMARY deployment: their rows, not yet written. */
async function placeStarts(
  ctx: CommandContext,
  service: ServiceRow,
  primary: ServiceDeploymentRow,
  count: number,
): Promise<TaskRow[]> {
  const { deps, cluster, view, random } = ctx;
  const constraints = JSON.parse(service.placementConstraintsJson) as PlacementConstraint[];
  const strategies = JSON.parse(service.placementStrategyJson) as PlacementStrategy[];
  const prepared = await prepareTask(
    deps,
    {
      taskDefinition: primary.taskDefinitionArn,
      group: serviceGroup(service.name),
      propagateTags: service.propagateTags === 'TASK_DEFINITION' ? 'TASK_DEFINITION' : 'NONE',
      tags: service.propagateTags === 'SERVICE' ? (JSON.parse(service.tagsJson) as Tag[]) : undefined,
    },
    constraints,
  );
  const providerStrategy = JSON.parse(service.capacityProviderStrategyJson) as Parameters<
    typeof validateStrategy
  >[0];
  const request = {
    count,
    cpu: prepared.shape.cpu,
    memoryMiB: prepared.shape.memoryMiB,
    hostPorts: prepared.shape.staticHostPorts,
    group: prepared.group,
    strategies: strategies.length > 0 ? strategies : DEFAULT_SERVICE_STRATEGY,
    constraints: prepared.constraints,
    random,
  };
  const placement =
    providerStrategy.length > 0
      ? placeTasksAcrossProviders(view.placementInstances(), {
          ...request,
          strategy: validateStrategy(providerStrategy, 'capacityProviderStrategy'),
          providerArn: (name) => capacityProviderArn(deps.config, name),
        })
      : placeTasks(view.placementInstances(), request);
  const nowMs = deps.now();
  const launchType = (service.launchType ?? 'EC2') as 'EC2' | 'EXTERNAL';
  return placement.placements.map(({ instanceArn }) =>
    taskRow(deps, cluster, prepared, instanceArn, { startedBy: primary.id, launchType }, nowMs),
  );
}

function sendStops(ctx: CommandContext, stops: readonly TaskChange[]): void {
  for (const { row, next } of stops) {
    ctx.sendToInstance(row.containerInstanceArn, {
      type: 'stopTask',
      messageId: ctx.deps.newId(),
      taskArn: row.arn,
      generation: next.generation,
      reason: next.stoppedReason ?? '',
    });
  }
}
