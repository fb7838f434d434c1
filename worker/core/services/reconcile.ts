/**
 * Runs the REPLICA scheduler for a service and carries out its decisions, inside the cluster's room
 * (so placement sees an exact view): first what failed tasks mean (deployment-failures.ts: the
 * circuit breaker, its rollback, the failed-start back-off), then stop tasks, place and start new
 * ones unless the back-off holds them, move deployments along, write the service's events (to its
 * log and to the event stream), and ask for a `serviceStep:<name>` deadline when time alone will
 * change something (a task turning healthy by age, a placement to retry, the back-off's end). It
 * is called whenever something the scheduler depends on changed: a service API call, a batch of
 * task reports touching the service's tasks, an instance joining, draining, leaving or losing its
 * agent, and that deadline. State lives in the database, so a restarted room recomputes the same step.
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
import { scheduleDaemonInRoom } from './daemon-tasks';
import { observeDeploymentFailures, owningDeploymentId, rememberLiveTasks } from './deployment-failures';
import { schedulePurge } from './purge-service';
import { type SchedulerTask, scheduleReplicaService } from './replica-scheduler';
import { schedulerInputsOf } from './scheduler-inputs';
import { appendServiceEvents, rolloutReason, serviceEventText } from './service-events';
import { type ServiceExtensions, storedServiceExtensions } from './service-extensions';
import { deploymentConfigurationOf, serviceArn, serviceGroup } from './service-record';
import {
  deploymentEvent,
  type ServiceStreamEvent,
  serviceAction,
  serviceStreamEventsInsert,
} from './service-stream-events';
import { TASK_HEALTHY_AFTER_RUNNING_MS, taskHealthOf } from './task-health';

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
  const [stored] = await deps.db.select().from(services).where(eq(services.arn, arn));
  if (!stored || stored.status === 'INACTIVE') {
    await ctx.deadlines.cancel(SERVICE_STEP, name);
    return;
  }
  const loaded = await deps.db
    .select()
    .from(serviceDeployments)
    .where(and(eq(serviceDeployments.serviceArn, arn), ne(serviceDeployments.status, 'INACTIVE')));
  const nowMs = deps.now();
  const healthyAfterMs = deps.config.taskHealthyAfterMs ?? TASK_HEALTHY_AFTER_RUNNING_MS;
  const gracePeriodMs = stored.healthCheckGracePeriodSeconds * 1000;
  const extensions = storedServiceExtensions(stored.tagsJson);
  // Failed tasks first: the circuit breaker may fail the PRIMARY deployment or roll it back, and
  // the back-off may hold launches, before the scheduler decides.
  const failures = await observeDeploymentFailures(
    ctx,
    stored,
    loaded,
    serviceTasksInView(ctx, name),
    nowMs,
    (row) =>
      taskHealthOf(schedulerTask(ctx, row, nowMs, gracePeriodMs, extensions), nowMs, healthyAfterMs) ===
      'HEALTHY',
  );
  const { service, deployments } = failures;
  const primary = deployments.find((d) => d.status === 'PRIMARY');
  // A rollback's deployment owns the tasks of the revision it returns to.
  const rows = serviceTasksInView(ctx, name).map((row) => ({
    ...row,
    startedBy: owningDeploymentId(row.startedBy, primary),
  }));
  const bounds = deploymentConfigurationOf(service);
  const schedulerDeployments = deployments.flatMap((d) =>
    d.status === 'INACTIVE' ? [] : [{ ...d, status: d.status, paused: d.pausedAtMs !== null }],
  );
  const schedulerTasks = rows.map((row) => schedulerTask(ctx, row, nowMs, gracePeriodMs, extensions));
  const daemon =
    service.schedulingStrategy === 'DAEMON'
      ? await scheduleDaemonInRoom(ctx, service, primary, schedulerDeployments, schedulerTasks, {
          nowMs,
          healthyAfterMs,
        })
      : undefined;
  const decisions =
    daemon?.decisions ??
    scheduleReplicaService(
      {
        status: service.status,
        desiredCount: service.desiredCount,
        minimumHealthyPercent: bounds.minimumHealthyPercent,
        maximumPercent: bounds.maximumPercent,
        updateOrder: extensions.updateOrder,
        // The rule only matters (and only changes scale-in order) once lost tasks get replaced.
        disconnectReconcile:
          extensions.disconnectReplaceAfterMs !== undefined ? extensions.disconnectReconcile : undefined,
      },
      schedulerDeployments,
      schedulerTasks,
      { nowMs, healthyAfterMs, minHealthyTimeMs: extensions.minHealthyTimeMs },
    );

  const messages: string[] = [...failures.messages];
  const streamEvents: ServiceStreamEvent[] = [...failures.streamEvents];
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
  if (stoppedIds.length > 0) {
    messages.push(serviceEventText.stopped(name, stoppedIds));
    streamEvents.push(serviceAction('TASKS_STOPPED', { taskIds: stoppedIds }));
  }

  // Placement only reads the view, and a stop requested above frees nothing until its task is
  // STOPPED, so the starts are planned now and written in the same transaction as everything else.
  let retryPlacement = false;
  // Placement only reads the view, and a stop requested above frees nothing until its task is
  // STOPPED, so REPLICA starts are planned now and written in the same transaction as the rest.
  let starts: TaskRow[] = [];
  // The failed-start back-off: launches wait until it has passed (the step deadline comes back then).
  const throttledUntilMs =
    decisions.start > 0 && nowMs < failures.launchNotBeforeMs ? failures.launchNotBeforeMs : undefined;
  if (throttledUntilMs !== undefined) messages.push(serviceEventText.throttled(name));
  else if (decisions.start > 0 && primary) {
    let started: string[];
    let placementFailure: string | undefined;
    if (daemon) {
      started = await daemon.start();
    } else {
      try {
        const planned = await placeStarts(ctx, service, primary, decisions.start);
        starts = planned.rows;
        placementFailure = planned.placementFailure;
      } catch (error) {
        // A service whose task definition is gone still stops what it must, then reports the error.
        if (!(error instanceof EcsError)) throw error;
        await ctx.saveTasks(stops, failures.writes);
        sendStops(ctx, stops);
        throw error;
      }
      started = starts.map((r) => resourceIdOf(r.arn));
    }
    if (started.length > 0) messages.push(serviceEventText.started(name, started));
    if (started.length < decisions.start) {
      messages.push(serviceEventText.unableToPlace(name));
      streamEvents.push(
        serviceAction('SERVICE_TASK_PLACEMENT_FAILURE', { reason: placementFailure ?? 'NO_INSTANCE' }),
      );
      retryPlacement = true;
    }
  }
  if (daemon && daemon.placementMessages.length > 0) {
    messages.push(...daemon.placementMessages);
    retryPlacement = true;
  }
  if (decisions.blocked) messages.push(serviceEventText.blocked(name));

  // The breaker's and the back-off's bookkeeping first: the step commits it with everything else.
  const writes: Alongside = [...failures.writes];
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
    streamEvents.push(
      deploymentEvent('SERVICE_DEPLOYMENT_COMPLETED', primary.id, rolloutReason.completed(primary.id)),
    );
    if (primary.rollbackOf) {
      writes.push(
        deps.db
          .update(serviceDeployments)
          .set({ outcome: 'ROLLBACK_SUCCESSFUL', updatedAtMs: nowMs })
          .where(eq(serviceDeployments.id, primary.rollbackOf)),
      );
    }
  }
  if (decisions.steady) messages.push(serviceEventText.steadyState(name));
  const progress =
    primary && trackProgress(ctx, primary, decisions.progressMark, extensions, decisions.steady);
  if (progress?.write) writes.push(progress.write);
  if (progress?.failed && primary) {
    messages.push(serviceEventText.progressDeadlineFailed(name, primary.id));
    streamEvents.push(
      deploymentEvent(
        'SERVICE_DEPLOYMENT_FAILED',
        primary.id,
        rolloutReason.progressDeadline(extensions.progressDeadlineMs ?? 0),
      ),
    );
  }
  const logged = JSON.parse(service.eventsJson) as ServiceEvent[];
  const events = appendServiceEvents(logged, messages, nowMs, deps.newId);
  // "Steady state" is repeated in the log only when something happened in between; so is its stream event.
  const steadyText = serviceEventText.steadyState(name);
  if (decisions.steady && events[0]?.message === steadyText && events[0] !== logged[0]) {
    streamEvents.push(serviceAction('SERVICE_STEADY_STATE'));
  }
  if (streamEvents.length > 0) writes.push(serviceStreamEventsInsert(deps, service, streamEvents));
  const status = decisions.serviceInactive ? 'INACTIVE' : service.status;
  // A daemon's desiredCount is the number of instances that should run it.
  const desiredCount = daemon ? daemon.decisions.desiredCount : service.desiredCount;
  if (messages.length > 0 || status !== service.status || desiredCount !== service.desiredCount) {
    writes.push(
      deps.db
        .update(services)
        .set({ eventsJson: JSON.stringify(events), status, desiredCount })
        .where(eq(services.arn, arn)),
    );
  }
  // One transaction for the whole step; agents hear of it only once it is durable.
  if (stops.length > 0 || writes.length > 0) await ctx.saveTasks(stops, writes);
  sendStops(ctx, stops);
  if (starts.length > 0) dispatchPlan(ctx, { rows: starts, failures: [] });
  if (streamEvents.length > 0) ctx.eventsWritten();
  rememberLiveTasks(ctx, name, serviceTasksInView(ctx, name));
  if (decisions.serviceInactive) await schedulePurge(ctx, name);

  const wakeAtMs = [
    decisions.nextCheckAtMs,
    throttledUntilMs,
    progress?.deadlineAtMs,
    lostAtMs(ctx, rows, extensions, nowMs),
  ];
  await armStep(
    ctx,
    name,
    earliest(wakeAtMs),
    retryPlacement,
    progress?.failed ? undefined : primary,
    decisions.steady,
    status,
    throttledUntilMs !== undefined,
  );
}

function earliest(times: readonly (number | undefined)[]): number | undefined {
  const known = times.filter((t): t is number => t !== undefined);
  return known.length > 0 ? Math.min(...known) : undefined;
}

/**
 * Berth's progress deadline: the PRIMARY deployment's progress mark (healthy new tasks minus old
 * tasks left) must grow within `berth:progress-deadline`, else the rollout is FAILED and takes no
 * more steps. A paused deployment's clock is stopped (resume restarts it).
 */
function trackProgress(
  ctx: CommandContext,
  primary: ServiceDeploymentRow,
  mark: number,
  extensions: ServiceExtensions,
  steady: boolean,
) {
  const deadlineMs = extensions.progressDeadlineMs;
  if (deadlineMs === undefined || primary.rolloutState !== 'IN_PROGRESS' || steady) return undefined;
  if (primary.pausedAtMs !== null) return undefined;
  const { db } = ctx.deps;
  const nowMs = ctx.deps.now();
  if (primary.progressMark === null || mark > primary.progressMark) {
    return {
      deadlineAtMs: nowMs + deadlineMs,
      write: db
        .update(serviceDeployments)
        .set({ progressAtMs: nowMs, progressMark: mark })
        .where(eq(serviceDeployments.id, primary.id)),
    };
  }
  const deadlineAtMs = (primary.progressAtMs ?? primary.createdAtMs) + deadlineMs;
  if (nowMs < deadlineAtMs) return { deadlineAtMs };
  return {
    failed: true,
    write: db
      .update(serviceDeployments)
      .set({
        rolloutState: 'FAILED',
        rolloutStateReason: rolloutReason.progressDeadline(deadlineMs),
        updatedAtMs: nowMs,
      })
      .where(eq(serviceDeployments.id, primary.id)),
  };
}

/** When the next task on a disconnected host turns lost (Berth's `berth:disconnect-replace-after`). */
function lostAtMs(
  ctx: CommandContext,
  rows: readonly TaskRow[],
  extensions: ServiceExtensions,
  nowMs: number,
): number | undefined {
  const after = extensions.disconnectReplaceAfterMs;
  if (after === undefined) return undefined;
  const times: number[] = [];
  for (const row of rows) {
    const instance = row.containerInstanceArn ? ctx.view.instances.get(row.containerInstanceArn) : undefined;
    if (!instance || row.lastStatus === 'STOPPED') continue;
    const at = instance.row.lastSeenAtMs + after;
    if (!instance.row.agentConnected && at > nowMs) times.push(at);
  }
  return earliest(times);
}

async function armStep(
  ctx: CommandContext,
  name: string,
  nextCheckAtMs: number | undefined,
  retryPlacement: boolean,
  primary: ServiceDeploymentRow | undefined,
  steady: boolean,
  status: ServiceRow['status'],
  /** The back-off holds launches: the deadline is set to exactly when it ends, later or not. */
  exact = false,
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
  const atMs = Math.max(nowMs, Math.min(...candidates));
  if (exact) {
    await ctx.deadlines.schedule(SERVICE_STEP, name, atMs, { persist: true });
    return;
  }
  // An earlier look already due is kept: moving it on every step would cost a write per report.
  await ctx.deadlines.scheduleNoLaterThan(SERVICE_STEP, name, atMs, { persist: true });
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
  extensions: ServiceExtensions,
): SchedulerTask {
  const instance = row.containerInstanceArn ? ctx.view.instances.get(row.containerInstanceArn) : undefined;
  const inputs = schedulerInputsOf(row);
  // healthCheckGracePeriodSeconds: an UNHEALTHY verdict this soon after the task started is ignored.
  const inGrace = row.startedAtMs === null || nowMs < row.startedAtMs + gracePeriodMs;
  if (inputs.healthStatus === 'UNHEALTHY' && inGrace && gracePeriodMs > 0) inputs.healthStatus = 'UNKNOWN';
  return {
    arn: row.arn,
    ...inputs,
    onDrainingInstance: instance?.row.status === 'DRAINING',
    lost:
      instance !== undefined &&
      extensions.disconnectReplaceAfterMs !== undefined &&
      !instance.row.agentConnected &&
      nowMs >= instance.row.lastSeenAtMs + extensions.disconnectReplaceAfterMs,
  };
}

/**
 * Places up to `count` tasks of the PRIMARY deployment: their rows, not yet written, and when some
 * could not be placed, placement's first reason (ECS's `RESOURCE:CPU`, `MemberOf`, ...).
 */
async function placeStarts(
  ctx: CommandContext,
  service: ServiceRow,
  primary: ServiceDeploymentRow,
  count: number,
): Promise<{ rows: TaskRow[]; placementFailure?: string }> {
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
    cluster,
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
  const rows = placement.placements.map(({ instanceArn }) =>
    taskRow(
      deps,
      cluster,
      prepared,
      instanceArn,
      { startedBy: primary.id, launchType, enableExecuteCommand: service.enableExecuteCommand },
      nowMs,
    ),
  );
  return { rows, placementFailure: placement.failures[0]?.reason };
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
