/**
 * The REPLICA scheduler: a pure function from (service, its deployments, its tasks, now) to what
 * should happen next: how many tasks to start for the PRIMARY deployment, which tasks to stop and
 * why, which deployments are finished, and when to look again. No I/O, no clock (`nowMs` is
 * given), no randomness (ties are broken by task ARN), so it is unit- and property-tested alone.
 * Cost: O(t log t) for t tasks of the service (one sort for scale-in).
 *
 * The bounds are ECS's (ecs-services.md §2): at most floor(desired × maximumPercent / 100) tasks
 * exist (every task not yet STOPPED counts, also one being stopped, so Docker never holds more),
 * and at least ceil(desired × minimumHealthyPercent / 100) healthy tasks are kept while old ones
 * are stopped. Which instances new tasks go to is placement's business (reconcile.ts).
 */
import type { DisconnectReconcile, UpdateOrder } from './service-extensions';
import { type TaskHealth, taskHealthOf } from './task-health';

export interface SchedulerService {
  status: 'ACTIVE' | 'DRAINING' | 'INACTIVE';
  desiredCount: number;
  minimumHealthyPercent: number;
  maximumPercent: number;
  /** Berth's `berth:update-order`: start-first keeps desiredCount healthy, stop-first never exceeds it. */
  updateOrder?: UpdateOrder;
  /** Berth's `berth:disconnect-reconcile`: which copy scale-in keeps when a disconnected host returns. */
  disconnectReconcile?: DisconnectReconcile;
}

export interface SchedulerDeployment {
  id: string;
  status: 'PRIMARY' | 'ACTIVE';
  rolloutState: 'IN_PROGRESS' | 'COMPLETED' | 'FAILED';
  /** Paused by the Berth API: the rollout takes no step (lost tasks are still replaced). */
  paused?: boolean;
}

export interface SchedulerTask {
  arn: string;
  /** The deployment that started it (its `startedBy`). */
  deploymentId: string;
  instanceArn: string | null;
  lastStatus: string;
  desiredStatus: string;
  startedAtMs: number | null;
  healthStatus?: TaskHealth;
  /** An essential container has a health check: the task counts only once HEALTHY. */
  healthChecked?: boolean;
  /** Its instance is DRAINING: the task is replaced like a task of an old deployment. */
  onDrainingInstance?: boolean;
  /** When it last turned HEALTHY (a container health check), for the minimum healthy time. */
  healthySinceMs?: number | null;
  /**
   * Its host has been disconnected longer than the service's `berth:disconnect-replace-after`:
   * it counts for nothing (not toward desired, not toward the maximum) and is replaced.
   */
  lost?: boolean;
}

export type StopReason = 'scale-in' | 'replaced' | 'service-deleted' | 'unhealthy' | 'lost';

export interface SchedulerDecisions {
  /** Tasks to start for the PRIMARY deployment. */
  start: number;
  stop: { taskArn: string; why: StopReason }[];
  /** Nothing to do: desiredCount tasks of the PRIMARY deployment, all healthy, and no other task left. */
  steady: boolean;
  /** Steady while the PRIMARY deployment is IN_PROGRESS: it becomes COMPLETED. */
  primaryCompleted: boolean;
  /** Old deployments with no task left: INACTIVE. */
  finishedDeployments: string[];
  /** A DRAINING service with no task left: INACTIVE. */
  serviceInactive: boolean;
  /** The deployment configuration allows neither a start nor a stop, and nothing is in flight. */
  blocked: boolean;
  /** When a task will next turn healthy by age, if any: the scheduler should run again then. */
  nextCheckAtMs?: number;
  /** Healthy tasks of the PRIMARY deployment minus old tasks left: grows as the rollout progresses. */
  progressMark: number;
}

/** Minimum healthy tasks: desired × minimumHealthyPercent / 100, rounded up. */
export function minimumHealthyTasks(desired: number, minimumHealthyPercent: number): number {
  return Math.ceil((desired * minimumHealthyPercent) / 100);
}

/** Maximum tasks (RUNNING and PENDING): desired × maximumPercent / 100, rounded down. */
export function maximumTasks(desired: number, maximumPercent: number): number {
  return Math.floor((desired * maximumPercent) / 100);
}

export interface ScheduleOptions {
  nowMs: number;
  /** How long after RUNNING a task without health check counts as healthy (ECS: 40 s). */
  healthyAfterMs: number;
  /** Berth's `berth:min-healthy-time`: a task of the PRIMARY deployment must stay healthy this long to count. */
  minHealthyTimeMs?: number;
}

/** Decisions that change nothing: what each scheduler starts from. */
export function noDecisions(): SchedulerDecisions {
  return {
    start: 0,
    stop: [],
    steady: false,
    primaryCompleted: false,
    finishedDeployments: [],
    serviceInactive: false,
    blocked: false,
    progressMark: 0,
  };
}

/** Deployments other than the PRIMARY one with no live task left: they become INACTIVE. */
export function finishedDeploymentsOf(
  deployments: readonly SchedulerDeployment[],
  live: readonly SchedulerTask[],
): string[] {
  return deployments
    .filter((d) => d.status !== 'PRIMARY' && !live.some((t) => t.deploymentId === d.id))
    .map((d) => d.id);
}

export function scheduleReplicaService(
  service: SchedulerService,
  deployments: readonly SchedulerDeployment[],
  tasks: readonly SchedulerTask[],
  options: ScheduleOptions,
): SchedulerDecisions {
  const primary = deployments.find((d) => d.status === 'PRIMARY');
  const decisions = noDecisions();
  // A task on a host lost for good counts for nothing; keep-replacement stops it (heard when the host returns).
  const lost = tasks.filter((t) => t.lost && t.lastStatus !== 'STOPPED');
  const live = tasks.filter((t) => t.lastStatus !== 'STOPPED' && !t.lost);
  const kept = live.filter((t) => t.desiredStatus === 'RUNNING');
  const stopping = live.filter((t) => t.desiredStatus !== 'RUNNING');
  decisions.finishedDeployments = finishedDeploymentsOf(deployments, live);

  if (service.status !== 'ACTIVE' || !primary) {
    // A deleted service stops everything at once, as ECS does: no bounds apply.
    decisions.stop = kept.map((t) => ({ taskArn: t.arn, why: 'service-deleted' }));
    decisions.serviceInactive = live.length === 0;
    return decisions;
  }
  if (service.disconnectReconcile === 'keep-replacement') {
    for (const t of lost)
      if (t.desiredStatus === 'RUNNING') decisions.stop.push({ taskArn: t.arn, why: 'lost' });
  }
  // A FAILED deployment (the circuit breaker without rollback, or StopServiceDeployment ABORT)
  // launches no more tasks, and the tasks that run are left as they are until a new deployment.
  if (primary.rolloutState === 'FAILED') return decisions;

  const isCurrent = (t: SchedulerTask) => t.deploymentId === primary.id && !t.onDrainingInstance;
  const minHealthyTimeMs = options.minHealthyTimeMs ?? 0;
  const healthy = (t: SchedulerTask) =>
    isHealthy(t, options) &&
    (minHealthyTimeMs === 0 || !isCurrent(t) || healthySince(t, options) + minHealthyTimeMs <= options.nowMs);
  const desired = service.desiredCount;
  let minHealthy = minimumHealthyTasks(desired, service.minimumHealthyPercent);
  let maxTasks = maximumTasks(desired, service.maximumPercent);
  // Berth's update order overrides one bound: start-first replaces only once the new task counts,
  // stop-first never runs more than desiredCount and stops at least one old task at a time.
  if (service.updateOrder === 'start-first') minHealthy = Math.max(minHealthy, desired);
  if (service.updateOrder === 'stop-first') {
    maxTasks = Math.min(maxTasks, desired);
    minHealthy = Math.min(minHealthy, Math.max(0, desired - 1));
  }
  // A paused rollout takes no step: nothing old is replaced, and tasks start only to keep
  // desiredCount running (a FAILED deployment returned above: it launches nothing at all).
  const halted = primary.paused === true;
  const current = kept.filter(isCurrent);
  const old = kept.filter((t) => !isCurrent(t));
  const stopSet = new Set<string>();
  const stop = (t: SchedulerTask, why: StopReason) => {
    stopSet.add(t.arn);
    decisions.stop.push({ taskArn: t.arn, why });
  };

  const sick = current.filter((t) => t.healthStatus === 'UNHEALTHY');
  const well = current.filter((t) => t.healthStatus !== 'UNHEALTHY');
  // Scale-in of the current deployment: stop the extras, the least useful first (not yet healthy,
  // then those on the instance holding most of the service's tasks). UNHEALTHY ones are below.
  if (well.length > desired) {
    for (const t of scaleInOrder(well, kept, healthy, service.disconnectReconcile).slice(
      0,
      well.length - desired,
    )) {
      stop(t, 'scale-in');
    }
  }

  if (!halted) {
    // Old tasks that are not healthy cost nothing to stop: they don't count toward the minimum.
    for (const t of old) if (!healthy(t)) stop(t, 'replaced');
    // Healthy old tasks: stop as many as the minimum allows, most crowded instances first.
    let healthyKept = kept.filter((t) => !stopSet.has(t.arn) && healthy(t)).length;
    for (const t of scaleInOrder(
      old.filter((t) => !stopSet.has(t.arn)),
      kept,
      healthy,
    )) {
      if (healthyKept - 1 < minHealthy) break;
      stop(t, 'replaced');
      healthyKept -= 1;
    }
  }

  // An UNHEALTHY task never counts and is replaced start-first, as ECS does: its replacement
  // starts within the maximum, and it is stopped once desiredCount healthy tasks exist without it.
  // When the maximum leaves no room and nothing else is stopping, they are stopped one at a time.
  const wellKept = well.filter((t) => !stopSet.has(t.arn));
  const replaced = wellKept.length >= desired && wellKept.filter(healthy).length >= desired;
  const noRoom = maxTasks - live.length <= 0 && stopping.length === 0 && decisions.stop.length === 0;
  for (const t of sick) {
    if (replaced || (noRoom && !decisions.stop.some((x) => x.why === 'unhealthy'))) stop(t, 'unhealthy');
  }

  // Starts: what the current deployment lacks (UNHEALTHY tasks count as lacking), within the
  // maximum. Tasks being stopped still count until they are STOPPED.
  const currentKept = wellKept.length;
  const existing = live.length;
  decisions.start = Math.max(0, Math.min(desired - currentKept, maxTasks - existing));
  if (halted) {
    // Old tasks still running count toward desiredCount while the rollout is paused.
    const oldKept = old.filter((t) => !stopSet.has(t.arn)).length;
    decisions.start = Math.max(0, Math.min(decisions.start, desired - currentKept - oldKept));
  }
  const sickLeft = sick.some((t) => !stopSet.has(t.arn));

  const oldLeft = old.some((t) => !stopSet.has(t.arn));
  const waiting = kept.filter((t) => !healthy(t) && t.healthStatus !== 'UNHEALTHY');
  if (!halted && decisions.start === 0 && decisions.stop.length === 0 && oldLeft && stopping.length === 0) {
    // Nothing moves, and nothing that is in flight (a start, a stop, a task turning healthy) will
    // make something move: the configuration itself forbids progress.
    decisions.blocked = waiting.length === 0 && currentKept < desired;
  }
  decisions.steady =
    decisions.start === 0 &&
    decisions.stop.length === 0 &&
    stopping.length === 0 &&
    !oldLeft &&
    currentKept === desired &&
    !sickLeft &&
    wellKept.every(healthy);
  decisions.primaryCompleted = decisions.steady && primary.rolloutState === 'IN_PROGRESS';
  decisions.progressMark = current.filter(healthy).length - old.filter((t) => !stopSet.has(t.arn)).length;
  const ages = waiting
    .filter((t) => t.lastStatus === 'RUNNING' && t.startedAtMs !== null && !t.healthChecked)
    .map((t) => (t.startedAtMs ?? 0) + options.healthyAfterMs + (isCurrent(t) ? minHealthyTimeMs : 0));
  if (minHealthyTimeMs > 0) {
    // A task health-checked HEALTHY still waits out the minimum healthy time.
    for (const t of waiting) {
      if (isCurrent(t) && t.healthStatus === 'HEALTHY')
        ages.push(healthySince(t, options) + minHealthyTimeMs);
    }
  }
  if (ages.length > 0) decisions.nextCheckAtMs = Math.min(...ages);
  return decisions;
}

/** When the task started counting as healthy: its HEALTHY report, or RUNNING plus the age rule. */
function healthySince(task: SchedulerTask, options: ScheduleOptions): number {
  if (task.healthStatus === 'HEALTHY') return task.healthySinceMs ?? task.startedAtMs ?? options.nowMs;
  return (task.startedAtMs ?? options.nowMs) + options.healthyAfterMs;
}

function isHealthy(task: SchedulerTask, options: ScheduleOptions): boolean {
  return taskHealthOf(task, options.nowMs, options.healthyAfterMs) === 'HEALTHY';
}

/** The order ECS stops tasks in: not healthy first, then the instance with most tasks of the service. */
function scaleInOrder(
  candidates: readonly SchedulerTask[],
  all: readonly SchedulerTask[],
  healthy: (t: SchedulerTask) => boolean,
  disconnectReconcile?: DisconnectReconcile,
): SchedulerTask[] {
  const perInstance = new Map<string | null, number>();
  for (const t of all) perInstance.set(t.instanceArn, (perInstance.get(t.instanceArn) ?? 0) + 1);
  const rank = (t: SchedulerTask) => (t.healthStatus === 'UNHEALTHY' ? 0 : healthy(t) ? 2 : 1);
  // With a disconnect policy, the extras after a host returns are the originals or their
  // replacements: keep-original stops the youngest first, keep-replacement the oldest.
  const age = (t: SchedulerTask) => t.startedAtMs ?? Number.MAX_SAFE_INTEGER;
  const byRule = (a: SchedulerTask, b: SchedulerTask) =>
    disconnectReconcile === 'keep-original'
      ? age(b) - age(a)
      : disconnectReconcile === 'keep-replacement'
        ? age(a) - age(b)
        : 0;
  return [...candidates].sort(
    (a, b) =>
      rank(a) - rank(b) ||
      byRule(a, b) ||
      (perInstance.get(b.instanceArn) ?? 0) - (perInstance.get(a.instanceArn) ?? 0) ||
      (a.arn < b.arn ? -1 : a.arn > b.arn ? 1 : 0),
  );
}
