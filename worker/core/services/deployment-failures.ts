/**
 * What a service's failing tasks do to it, run by reconcile.ts before the scheduler: the tasks of
 * the service that STOPPED since it last looked (one indexed query, from a persisted watermark, so
 * each stop is counted once and a restart misses none), and the PRIMARY deployment's tasks that
 * reached RUNNING or turned healthy, feed
 * - the circuit breaker (circuit-breaker.ts): `failedTasks`, and when it trips the deployment
 *   FAILED and, with `rollback`, a new PRIMARY deployment on the last completed revision;
 * - the failed-start back-off: consecutive tasks that never reached RUNNING push the next launch
 *   back, doubling up to 15 minutes; a task that reaches RUNNING or a new task definition resets it.
 * Rollback is shared with StopServiceDeployment.
 */
import { and, desc, eq, gte } from 'drizzle-orm';
import type { BatchItem } from 'drizzle-orm/batch';
import {
  type ServiceDeploymentRow,
  type ServiceRow,
  serviceDeployments,
  services,
  type TaskRow,
  tasks,
} from '../../../db/schema';
import type { CommandContext } from '../cluster/command-context';
import { DEREGISTERED_REASON } from '../container-instances/deregister';
import type { CoreDeps } from '../deps';
import { aggregateTaskHealth } from '../tasks/task-health';
import { taskStateOf } from '../tasks/task-record';
import {
  advanceBreaker,
  type BreakerObservation,
  breakerTripped,
  type CircuitBreakerConfig,
  classifyStoppedTask,
  DEFAULT_THROTTLE_BASE_MS,
  START_IMPAIRED_AFTER_FAILED_STARTS,
  throttleDelayMs,
} from './circuit-breaker';
import { rolloutReason, serviceEventText } from './service-events';
import {
  adoptedOf,
  deploymentConfigurationOf,
  deploymentRevisionId,
  newDeploymentId,
  serviceGroup,
} from './service-record';
import { deploymentEvent, type ServiceStreamEvent, serviceAction } from './service-stream-events';

/** services.failure_state_json */
interface FailureState {
  /** Consecutive tasks of the service that stopped without reaching RUNNING. */
  failedStarts?: number;
  lastFailedStartAtMs?: number;
  /** The task definition the count is about: a new one resets it, as in ECS. */
  taskDefinitionArn?: string;
  /** Stopped tasks were looked at up to this stoppedAt (and these ARNs stopped at exactly that ms). */
  throughMs?: number;
  arnsAtThrough?: string[];
}

/** service_deployments.breaker_json */
interface BreakerMemory {
  sawRunning?: boolean;
  /** Tasks of the deployment already seen healthy: each resets the count once. */
  healthy?: string[];
}

export interface RollbackRecord {
  reason: string;
  startedAtMs: number;
  /** The deployment whose revision the service returns to, and that revision. */
  toDeploymentId: string;
  revisionId: string;
  /** The deployment that carries the rollback out. */
  byDeploymentId: string;
}

/** The deployment a task counts for: a rollback's PRIMARY deployment owns the tasks of the revision it returns to. */
export function owningDeploymentId(startedBy: string | null, primary: ServiceDeploymentRow | undefined) {
  if (primary && startedBy && adoptedOf(primary).includes(startedBy)) return primary.id;
  return startedBy ?? '';
}

export interface FailureStep {
  service: ServiceRow;
  deployments: ServiceDeploymentRow[];
  messages: string[];
  streamEvents: ServiceStreamEvent[];
  /** The scheduler launches nothing before this (the back-off); 0 when not throttled. */
  launchNotBeforeMs: number;
  /** What the step must write for the breaker and the back-off: committed with the step's own writes. */
  writes: BatchItem<'sqlite'>[];
}

export async function observeDeploymentFailures(
  ctx: CommandContext,
  service: ServiceRow,
  deployments: ServiceDeploymentRow[],
  live: readonly TaskRow[],
  nowMs: number,
  isHealthy: (row: TaskRow) => boolean,
): Promise<FailureStep> {
  const { deps } = ctx;
  const messages: string[] = [];
  const streamEvents: ServiceStreamEvent[] = [];
  const previous = JSON.parse(service.failureStateJson) as FailureState;
  const state: FailureState =
    previous.taskDefinitionArn === service.taskDefinitionArn
      ? { ...previous }
      : { throughMs: previous.throughMs, arnsAtThrough: previous.arnsAtThrough };
  state.taskDefinitionArn = service.taskDefinitionArn;
  const failedStartsBefore = state.failedStarts ?? 0;

  // The query is skipped when every task the room last saw of the service is still live: then none
  // stopped since (the scheduler creates them all, and records them below once it has).
  const stopped = noneStoppedSince(ctx, service.name, live)
    ? []
    : await stoppedSince(deps, service, state.throughMs ?? service.createdAtMs);
  const seen = new Set(state.throughMs === undefined ? [] : (state.arnsAtThrough ?? []));
  const fresh = stopped.filter((t) => !(t.stoppedAtMs === state.throughMs && seen.has(t.arn)));
  if (fresh.length > 0) {
    const last = fresh[fresh.length - 1].stoppedAtMs ?? 0;
    state.throughMs = last;
    state.arnsAtThrough = [
      ...(last === previous.throughMs ? seen : []),
      ...fresh.filter((t) => t.stoppedAtMs === last).map((t) => t.arn),
    ];
  }

  const primary = deployments.find((d) => d.status === 'PRIMARY');
  // A service being deleted is not rolled out any more: nothing to monitor.
  const monitoring =
    service.status === 'ACTIVE' && primary?.rolloutState === 'IN_PROGRESS' ? primary : undefined;
  const memory = monitoring ? (JSON.parse(monitoring.breakerJson) as BreakerMemory) : {};
  const healthySeen = new Set(memory.healthy ?? []);
  const observations: BreakerObservation[] = [];
  for (const task of fresh) {
    const failure = classifyStoppedTask({
      reachedRunning: task.startedAtMs !== null,
      stopCode: task.stopCode,
      healthStatus: aggregateTaskHealth(taskStateOf(task).containers),
      wasHealthy: healthySeen.has(task.arn),
      instanceRemoved: task.stoppedReason === DEREGISTERED_REASON,
    });
    if (failure === 'failed-to-start') {
      state.failedStarts = (state.failedStarts ?? 0) + 1;
      state.lastFailedStartAtMs = task.stoppedAtMs ?? nowMs;
    } else if (task.startedAtMs !== null) {
      state.failedStarts = 0;
    }
    if (monitoring && task.startedBy === monitoring.id) {
      if (task.startedAtMs !== null) observations.push({ kind: 'running' });
      if (failure) observations.push({ kind: 'failed', failure });
    }
  }
  // A task that reached RUNNING after the last failed start: the service can start tasks.
  if (live.some((t) => t.startedAtMs !== null && t.startedAtMs > (state.lastFailedStartAtMs ?? 0))) {
    state.failedStarts = 0;
  }
  if (monitoring) {
    for (const task of live) {
      if (task.startedBy !== monitoring.id) continue;
      if (task.lastStatus === 'RUNNING') observations.push({ kind: 'running' });
      if (!healthySeen.has(task.arn) && isHealthy(task)) {
        healthySeen.add(task.arn);
        observations.push({ kind: 'healthy' });
      }
    }
  }

  const failedStarts = state.failedStarts ?? 0;
  if (failedStarts > failedStartsBefore && failedStarts >= START_IMPAIRED_AFTER_FAILED_STARTS) {
    messages.push(serviceEventText.unableToStartConsistently(service.name));
    streamEvents.push(serviceAction('SERVICE_TASK_START_IMPAIRED', { failedStarts }));
  }
  const baseMs = deps.config.serviceThrottleBaseMs ?? DEFAULT_THROTTLE_BASE_MS;
  const launchNotBeforeMs =
    failedStarts > 0 ? (state.lastFailedStartAtMs ?? 0) + throttleDelayMs(failedStarts, baseMs) : 0;

  const writes: BatchItem<'sqlite'>[] = [];
  let nextService = service;
  const stateJson = JSON.stringify(state);
  if (stateJson !== service.failureStateJson) {
    nextService = { ...service, failureStateJson: stateJson };
    writes.push(
      deps.db.update(services).set({ failureStateJson: stateJson }).where(eq(services.arn, service.arn)),
    );
  }

  let nextDeployments = deployments;
  if (monitoring && observations.length > 0) {
    const config = deploymentConfigurationOf(service).deploymentCircuitBreaker as
      | CircuitBreakerConfig
      | undefined;
    const breaker = advanceBreaker(
      { failedTasks: monitoring.failedTasks, sawRunning: memory.sawRunning ?? false },
      observations,
      config,
    );
    const breakerJson = JSON.stringify({ sawRunning: breaker.sawRunning, healthy: [...healthySeen] });
    const tripped = breakerTripped(breaker, config, service.desiredCount);
    const updated: ServiceDeploymentRow = {
      ...monitoring,
      failedTasks: breaker.failedTasks,
      breakerJson,
      ...(tripped
        ? {
            rolloutState: 'FAILED' as const,
            rolloutStateReason: rolloutReason.circuitBreaker,
            updatedAtMs: nowMs,
          }
        : {}),
    };
    if (
      updated.failedTasks !== monitoring.failedTasks ||
      updated.breakerJson !== monitoring.breakerJson ||
      tripped
    ) {
      const { id: _id, ...fields } = updated;
      writes.push(
        deps.db.update(serviceDeployments).set(fields).where(eq(serviceDeployments.id, monitoring.id)),
      );
      nextDeployments = deployments.map((d) => (d.id === monitoring.id ? updated : d));
    }
    if (tripped) {
      messages.push(serviceEventText.deploymentFailed(service.name, monitoring.id));
      streamEvents.push(
        deploymentEvent('SERVICE_DEPLOYMENT_FAILED', monitoring.id, rolloutReason.circuitBreaker),
      );
      if (monitoring.rollbackOf) {
        // A rollback that fails is not rolled back again: the deployment it rolled back ends ROLLBACK_FAILED.
        writes.push(
          deps.db
            .update(serviceDeployments)
            .set({ outcome: 'ROLLBACK_FAILED', updatedAtMs: nowMs })
            .where(eq(serviceDeployments.id, monitoring.rollbackOf)),
        );
      } else if (config?.rollback) {
        const plan = await planRollback(ctx, nextService, updated, 'breaker', nowMs);
        if (plan) {
          writes.push(...plan.writes);
          messages.push(...plan.messages);
          streamEvents.push(...plan.streamEvents);
          nextService = plan.service;
          nextDeployments = [
            ...nextDeployments.map((d) =>
              d.id === updated.id ? { ...updated, status: 'ACTIVE' as const } : d,
            ),
            plan.deployment,
          ];
        }
      }
    }
  }
  // A rollback gave the service its old task definition back: that resets the back-off, as any new one does.
  const rolledBack = nextService.taskDefinitionArn !== service.taskDefinitionArn;
  return {
    service: nextService,
    deployments: nextDeployments,
    messages,
    streamEvents,
    launchNotBeforeMs: rolledBack ? 0 : launchNotBeforeMs,
    writes,
  };
}

/** Per loaded view (a room's; a reloaded room starts over): each service's live tasks at its last step. */
const lastSeenLive = new WeakMap<object, Map<string, Set<string>>>();

function noneStoppedSince(ctx: CommandContext, serviceName: string, live: readonly TaskRow[]): boolean {
  const seen = lastSeenLive.get(ctx.view)?.get(serviceName);
  if (!seen) return false;
  const liveArns = new Set(live.map((t) => t.arn));
  for (const arn of seen) if (!liveArns.has(arn)) return false;
  return true;
}

/** Called by reconcile.ts once its step (starts included) is done. */
export function rememberLiveTasks(ctx: CommandContext, serviceName: string, live: readonly TaskRow[]): void {
  const services = lastSeenLive.get(ctx.view) ?? new Map<string, Set<string>>();
  lastSeenLive.set(ctx.view, services);
  services.set(serviceName, new Set(live.map((t) => t.arn)));
}

async function stoppedSince(deps: CoreDeps, service: ServiceRow, fromMs: number): Promise<TaskRow[]> {
  const rows = await deps.db
    .select()
    .from(tasks)
    .where(
      and(
        eq(tasks.clusterArn, service.clusterArn),
        eq(tasks.group, serviceGroup(service.name)),
        gte(tasks.stoppedAtMs, fromMs),
      ),
    );
  return rows
    .filter((t) => t.lastStatus === 'STOPPED')
    .sort(
      (a, b) => (a.stoppedAtMs ?? 0) - (b.stoppedAtMs ?? 0) || (a.arn < b.arn ? -1 : a.arn > b.arn ? 1 : 0),
    );
}

/** The newest deployment of the service that completed, other than `except`: what a rollback returns to. */
export async function lastCompletedDeployment(
  deps: CoreDeps,
  serviceArn: string,
  except: string,
): Promise<ServiceDeploymentRow | undefined> {
  const rows = await deps.db
    .select()
    .from(serviceDeployments)
    .where(
      and(eq(serviceDeployments.serviceArn, serviceArn), eq(serviceDeployments.rolloutState, 'COMPLETED')),
    )
    .orderBy(desc(serviceDeployments.createdAtMs));
  return rows.find((d) => d.id !== except);
}

export interface RollbackPlan {
  reason: string;
  writes: BatchItem<'sqlite'>[];
  deployment: ServiceDeploymentRow;
  service: ServiceRow;
  messages: string[];
  streamEvents: ServiceStreamEvent[];
}

/**
 * Rolls `failed` back: a new PRIMARY deployment on the revision of the last completed deployment
 * (reused, not a new revision), owning that revision's tasks that still run; `failed` becomes
 * ACTIVE (drained by the scheduler) with its service-deployment status ROLLBACK_IN_PROGRESS.
 * Undefined when no deployment ever completed (there is nothing to return to).
 */
export async function planRollback(
  ctx: CommandContext,
  service: ServiceRow,
  failed: ServiceDeploymentRow,
  cause: 'breaker' | 'request',
  nowMs: number,
): Promise<RollbackPlan | undefined> {
  const { deps } = ctx;
  const target = await lastCompletedDeployment(deps, service.arn, failed.id);
  if (!target) return undefined;
  const id = newDeploymentId(ctx.random);
  const revisionId = deploymentRevisionId(target);
  const siblings = await deps.db
    .select()
    .from(serviceDeployments)
    .where(eq(serviceDeployments.serviceArn, service.arn));
  // Every deployment on that revision: their tasks are already what the rollback wants.
  const adopted = siblings
    .filter((d) => deploymentRevisionId(d) === revisionId)
    .flatMap((d) => [d.id, ...adoptedOf(d)]);
  const reason =
    cause === 'breaker'
      ? rolloutReason.breakerRollingBack(target.id)
      : rolloutReason.stopRequestedRollback(target.id);
  const rollback: RollbackRecord = {
    reason,
    startedAtMs: nowMs,
    toDeploymentId: target.id,
    revisionId,
    byDeploymentId: id,
  };
  const deployment: ServiceDeploymentRow = {
    id,
    serviceArn: service.arn,
    status: 'PRIMARY',
    taskDefinitionArn: target.taskDefinitionArn,
    rolloutState: 'IN_PROGRESS',
    rolloutStateReason: rolloutReason.inProgress(id),
    failedTasks: 0,
    createdAtMs: nowMs,
    updatedAtMs: nowMs,
    revisionId,
    adoptedJson: JSON.stringify([...new Set(adopted)]),
    breakerJson: '{}',
    outcome: null,
    rollbackJson: null,
    imageDigestsJson: '{}',
    pausedAtMs: null,
    progressAtMs: null,
    progressMark: null,
    rollbackOf: failed.id,
    triggerJson: null,
  };
  const writes: BatchItem<'sqlite'>[] = [
    deps.db
      .update(serviceDeployments)
      .set({
        status: 'ACTIVE',
        outcome: 'ROLLBACK_IN_PROGRESS',
        rollbackJson: JSON.stringify(rollback),
        updatedAtMs: nowMs,
      })
      .where(eq(serviceDeployments.id, failed.id)),
    deps.db.insert(serviceDeployments).values(deployment),
    deps.db
      .update(services)
      .set({ taskDefinitionArn: target.taskDefinitionArn })
      .where(eq(services.arn, service.arn)),
  ];
  return {
    reason,
    writes,
    deployment,
    service: { ...service, taskDefinitionArn: target.taskDefinitionArn },
    messages: [serviceEventText.rollingBack(service.name, target.id)],
    streamEvents: [deploymentEvent('SERVICE_DEPLOYMENT_IN_PROGRESS', id, reason)],
  };
}
