/**
 * The DAEMON scheduler: a pure function from (service, its deployments, its tasks, the cluster's
 * instances, now) to decisions of the same shape as the REPLICA scheduler's, plus the instances to
 * start on, so reconcile.ts carries out both alike. No I/O, no clock, no randomness.
 *
 * ECS's rules (ecs-services.md §2, DAEMON): exactly one task on every ACTIVE instance that satisfies
 * the placement constraints (and whose agent is connected or in its grace, as placement requires);
 * tasks on DRAINING instances or on instances that no longer match are stopped; an instance joining
 * gets its task. A daemon deployment stops the old task on an instance before starting the new one
 * (maximumPercent is at most 100), stopping healthy old tasks only while
 * ceil(instances × minimumHealthyPercent / 100) healthy tasks remain. Cost: O(t + i) for t tasks
 * and i instances, plus one single-instance placement check per instance that needs a task.
 */
import {
  matchesClusterQuery,
  type PlacementConstraint,
  type PlacementInstance,
  placeTasks,
} from '../placement';
import type { PlacementFailureReason } from '../placement/types';
import { validatePlacement } from '../placement/validate-placement';
import {
  finishedDeploymentsOf,
  maximumTasks,
  minimumHealthyTasks,
  noDecisions,
  type ScheduleOptions,
  type SchedulerDecisions,
  type SchedulerDeployment,
  type SchedulerService,
  type SchedulerTask,
  type StopReason,
} from './replica-scheduler';
import { taskHealthOf } from './task-health';

export interface DaemonService extends Omit<SchedulerService, 'desiredCount'> {
  /** The service's group (`service:<name>`). */
  group: string;
  /** The PRIMARY deployment's task definition constraints and the service's. */
  constraints: readonly PlacementConstraint[];
  /** What one task of the PRIMARY deployment needs on an instance. */
  cpu: number;
  memoryMiB: number;
  hostPorts: { port: number; protocol: 'tcp' | 'udp' }[];
}

export interface DaemonDecisions extends SchedulerDecisions {
  /** One new task of the PRIMARY deployment on each of these instances (`start` is their count). */
  startOn: string[];
  /** Instances that should run the daemon but lack the room for it (ECS keeps retrying). */
  unplaced: { instanceArn: string; instanceId: string; reason: PlacementFailureReason }[];
  /** What DescribeServices reports: the instances that should run the daemon. */
  desiredCount: number;
}

export function scheduleDaemonService(
  service: DaemonService,
  deployments: readonly SchedulerDeployment[],
  tasks: readonly SchedulerTask[],
  instances: readonly PlacementInstance[],
  options: ScheduleOptions,
): DaemonDecisions {
  const primary = deployments.find((d) => d.status === 'PRIMARY');
  const decisions: DaemonDecisions = { ...noDecisions(), startOn: [], unplaced: [], desiredCount: 0 };
  const live = tasks.filter((t) => t.lastStatus !== 'STOPPED');
  const kept = live.filter((t) => t.desiredStatus === 'RUNNING');
  const stopping = live.filter((t) => t.desiredStatus !== 'RUNNING');
  decisions.finishedDeployments = finishedDeploymentsOf(deployments, live);
  if (service.status !== 'ACTIVE' || !primary) {
    decisions.stop = kept.map((t) => ({ taskArn: t.arn, why: 'service-deleted' }));
    decisions.serviceInactive = live.length === 0;
    return decisions;
  }

  const keptOn = groupByInstance(kept);
  const liveOn = groupByInstance(live);
  // distinctInstance holds by construction (one task per instance); memberOf decides membership.
  const memberOf = validatePlacement([], [...service.constraints]).constraints.flatMap((c) =>
    c.kind === 'memberOf' ? [c.query] : [],
  );
  // An instance whose agent is gone past its grace keeps its task (ECS leaves tasks on disconnected
  // instances) and so still counts; it gets no new one until the agent returns.
  const targets = instances.filter(
    (i) =>
      i.status === 'ACTIVE' &&
      (i.agentConnected || keptOn.has(i.arn)) &&
      memberOf.every((query) => matchesClusterQuery(query, i)),
  );
  const targetArns = new Set(targets.map((i) => i.arn));
  decisions.desiredCount = targets.length;

  const healthy = (t: SchedulerTask) => taskHealthOf(t, options.nowMs, options.healthyAfterMs) === 'HEALTHY';
  const stopSet = new Set<string>();
  const stop = (t: SchedulerTask, why: StopReason) => {
    stopSet.add(t.arn);
    decisions.stop.push({ taskArn: t.arn, why });
  };

  // No daemon belongs on a DRAINING instance, a deregistered one, or one that stopped matching.
  for (const t of kept) if (!t.instanceArn || !targetArns.has(t.instanceArn)) stop(t, 'replaced');

  const awaitingStop: SchedulerTask[] = [];
  for (const instance of targets) {
    const here = keptOn.get(instance.arn) ?? [];
    const current = here.filter((t) => t.deploymentId === primary.id).sort(bestFirst(healthy));
    const old = here.filter((t) => t.deploymentId !== primary.id);
    if (current.length > 0) {
      // One copy per instance: the best current task stays, anything else here goes.
      for (const t of current.slice(1)) stop(t, 'scale-in');
      for (const t of old) stop(t, 'replaced');
      if (current[0].healthStatus === 'UNHEALTHY') stop(current[0], 'unhealthy');
    } else {
      // Stop-first: the old task makes way for the new one; a healthy one only within the minimum.
      for (const t of old) healthy(t) ? awaitingStop.push(t) : stop(t, 'replaced');
    }
  }
  const minHealthy = minimumHealthyTasks(targets.length, service.minimumHealthyPercent);
  let healthyKept = kept.filter((t) => !stopSet.has(t.arn) && healthy(t)).length;
  awaitingStop.sort(byArn);
  let oldLeft = false;
  for (const t of awaitingStop) {
    if (healthyKept - 1 < minHealthy) {
      oldLeft = true;
      continue;
    }
    stop(t, 'replaced');
    healthyKept -= 1;
  }

  // Starts: an instance with nothing of the service left on it (a task being stopped still holds
  // its resources and ports until STOPPED), whose agent can hear of it, with room for the task.
  // The maximum is over the instances that should run the daemon: a task being stopped on a
  // DRAINING instance holds nothing a new one needs.
  const maxTasks = maximumTasks(targets.length, service.maximumPercent);
  let existing = live.filter((t) => targetArns.has(t.instanceArn ?? '')).length;
  for (const instance of targets) {
    if (!instance.agentConnected || liveOn.has(instance.arn)) continue;
    if (existing >= maxTasks) break;
    const fit = placeTasks([instance], {
      count: 1,
      cpu: service.cpu,
      memoryMiB: service.memoryMiB,
      hostPorts: service.hostPorts,
      group: service.group,
      strategies: [],
      constraints: [],
      random: () => 0,
    });
    if (fit.placements.length === 1) {
      decisions.startOn.push(instance.arn);
      existing += 1;
    } else {
      const reason = fit.failures[0]?.reason ?? 'RESOURCE:CPU';
      decisions.unplaced.push({ instanceArn: instance.arn, instanceId: instance.id, reason });
    }
  }
  decisions.start = decisions.startOn.length;

  const currentKept = kept.filter(
    (t) => t.deploymentId === primary.id && !stopSet.has(t.arn) && targetArns.has(t.instanceArn ?? ''),
  );
  const waiting = kept.filter((t) => !healthy(t) && t.healthStatus !== 'UNHEALTHY');
  if (decisions.start === 0 && decisions.stop.length === 0 && oldLeft && stopping.length === 0) {
    decisions.blocked = waiting.length === 0;
  }
  decisions.steady =
    decisions.start === 0 &&
    decisions.stop.length === 0 &&
    stopping.length === 0 &&
    !oldLeft &&
    decisions.unplaced.length === 0 &&
    currentKept.length === targets.length &&
    currentKept.every(healthy);
  decisions.primaryCompleted = decisions.steady && primary.rolloutState === 'IN_PROGRESS';
  // Berth's progress deadline reads the same mark as for REPLICA: healthy new tasks minus old ones left.
  decisions.progressMark =
    currentKept.filter(healthy).length -
    kept.filter((t) => t.deploymentId !== primary.id && !stopSet.has(t.arn)).length;
  const ages = waiting
    .filter((t) => t.lastStatus === 'RUNNING' && t.startedAtMs !== null && !t.healthChecked)
    .map((t) => (t.startedAtMs ?? 0) + options.healthyAfterMs);
  if (ages.length > 0) decisions.nextCheckAtMs = Math.min(...ages);
  return decisions;
}

function groupByInstance(tasks: readonly SchedulerTask[]): Map<string, SchedulerTask[]> {
  const byInstance = new Map<string, SchedulerTask[]>();
  for (const t of tasks) {
    if (!t.instanceArn) continue;
    const list = byInstance.get(t.instanceArn);
    if (list) list.push(t);
    else byInstance.set(t.instanceArn, [t]);
  }
  return byInstance;
}

const byArn = (a: SchedulerTask, b: SchedulerTask) => (a.arn < b.arn ? -1 : a.arn > b.arn ? 1 : 0);

/** The copy to keep on an instance: not UNHEALTHY, then healthy, then the oldest, then by ARN. */
function bestFirst(healthy: (t: SchedulerTask) => boolean) {
  const rank = (t: SchedulerTask) => (t.healthStatus === 'UNHEALTHY' ? 2 : healthy(t) ? 0 : 1);
  return (a: SchedulerTask, b: SchedulerTask) =>
    rank(a) - rank(b) || (a.startedAtMs ?? Infinity) - (b.startedAtMs ?? Infinity) || byArn(a, b);
}
