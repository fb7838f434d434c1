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
import { type TaskHealth, taskHealthOf } from './task-health';

export interface SchedulerService {
  status: 'ACTIVE' | 'DRAINING' | 'INACTIVE';
  desiredCount: number;
  minimumHealthyPercent: number;
  maximumPercent: number;
}

export interface SchedulerDeployment {
  id: string;
  status: 'PRIMARY' | 'ACTIVE';
  rolloutState: 'IN_PROGRESS' | 'COMPLETED' | 'FAILED';
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
}

export type StopReason = 'scale-in' | 'replaced' | 'service-deleted' | 'unhealthy';

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
}

export function scheduleReplicaService(
  service: SchedulerService,
  deployments: readonly SchedulerDeployment[],
  tasks: readonly SchedulerTask[],
  options: ScheduleOptions,
): SchedulerDecisions {
  const primary = deployments.find((d) => d.status === 'PRIMARY');
  const decisions: SchedulerDecisions = {
    start: 0,
    stop: [],
    steady: false,
    primaryCompleted: false,
    finishedDeployments: [],
    serviceInactive: false,
    blocked: false,
  };
  const live = tasks.filter((t) => t.lastStatus !== 'STOPPED');
  const kept = live.filter((t) => t.desiredStatus === 'RUNNING');
  const stopping = live.filter((t) => t.desiredStatus !== 'RUNNING');
  for (const deployment of deployments) {
    if (deployment.status !== 'PRIMARY' && !live.some((t) => t.deploymentId === deployment.id)) {
      decisions.finishedDeployments.push(deployment.id);
    }
  }

  if (service.status !== 'ACTIVE' || !primary) {
    // A deleted service stops everything at once, as ECS does: no bounds apply.
    decisions.stop = kept.map((t) => ({ taskArn: t.arn, why: 'service-deleted' }));
    decisions.serviceInactive = live.length === 0;
    return decisions;
  }
  // A FAILED deployment (the circuit breaker without rollback, or StopServiceDeployment ABORT)
  // launches no more tasks, and the tasks that run are left as they are until a new deployment.
  if (primary.rolloutState === 'FAILED') return decisions;

  const healthy = (t: SchedulerTask) => isHealthy(t, options);
  const desired = service.desiredCount;
  const minHealthy = minimumHealthyTasks(desired, service.minimumHealthyPercent);
  const maxTasks = maximumTasks(desired, service.maximumPercent);
  const isCurrent = (t: SchedulerTask) => t.deploymentId === primary.id && !t.onDrainingInstance;
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
    for (const t of scaleInOrder(well, kept, healthy).slice(0, well.length - desired)) stop(t, 'scale-in');
  }

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
  const sickLeft = sick.some((t) => !stopSet.has(t.arn));

  const oldLeft = old.some((t) => !stopSet.has(t.arn));
  const waiting = kept.filter((t) => !healthy(t) && t.healthStatus !== 'UNHEALTHY');
  if (decisions.start === 0 && decisions.stop.length === 0 && oldLeft && stopping.length === 0) {
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
  const ages = waiting
    .filter((t) => t.lastStatus === 'RUNNING' && t.startedAtMs !== null && !t.healthChecked)
    .map((t) => (t.startedAtMs ?? 0) + options.healthyAfterMs);
  if (ages.length > 0) decisions.nextCheckAtMs = Math.min(...ages);
  return decisions;
}

function isHealthy(task: SchedulerTask, options: ScheduleOptions): boolean {
  return taskHealthOf(task, options.nowMs, options.healthyAfterMs) === 'HEALTHY';
}

/** The order ECS stops tasks in: not healthy first, then the instance with most tasks of the service. */
function scaleInOrder(
  candidates: readonly SchedulerTask[],
  all: readonly SchedulerTask[],
  healthy: (t: SchedulerTask) => boolean,
): SchedulerTask[] {
  const perInstance = new Map<string | null, number>();
  for (const t of all) perInstance.set(t.instanceArn, (perInstance.get(t.instanceArn) ?? 0) + 1);
  const rank = (t: SchedulerTask) => (t.healthStatus === 'UNHEALTHY' ? 0 : healthy(t) ? 2 : 1);
  return [...candidates].sort(
    (a, b) =>
      rank(a) - rank(b) ||
      (perInstance.get(b.instanceArn) ?? 0) - (perInstance.get(a.instanceArn) ?? 0) ||
      (a.arn < b.arn ? -1 : a.arn > b.arn ? 1 : 0),
  );
}
