/**
 * The task state machine as pure functions. Two writers, kept apart:
 * - desiredStatus (and the stop code and reason of a requested stop) comes from the API and schedulers
 *   through `requestStop`;
 * - lastStatus and container details (health included) come only from agent reports through `applyReport`.
 * Neither ever moves a recorded status backwards (see `taskStatusRank`), and what was recorded when a
 * task or container reached STOPPED (exit codes, stop code, reason, times) is final.
 */
import {
  containerStatusRank,
  type ObservedTask,
  type StopCode,
  taskStatusRank,
} from '../../../protocol/agent-protocol';
import type { ContainerRecord, TaskState } from './task-record';

/** Applies an agent report. Returns the new state, or undefined when the report is stale or changes nothing. */
export function applyReport(
  state: TaskState,
  observed: ObservedTask,
  seq: number,
  nowMs: number,
): TaskState | undefined {
  if (seq <= state.reportSeq) return undefined;
  // A stopped task's record is final: no report, however new, rewrites how it ended.
  if (state.lastStatus === 'STOPPED') return undefined;
  const next: TaskState = {
    ...state,
    reportSeq: seq,
    containers: state.containers.map(mergeContainer(observed, nowMs)),
  };
  if (taskStatusRank(observed.lastStatus) > taskStatusRank(state.lastStatus))
    next.lastStatus = observed.lastStatus;
  next.pullStartedAtMs ??= observed.pullStartedAtMs ?? null;
  next.pullStoppedAtMs ??= observed.pullStoppedAtMs ?? null;
  // A task that went from PENDING straight to STOPPED, with no start time from the agent, never
  // started: it keeps no startedAt (the circuit breaker and the back-off count it as failed to start).
  const started = observed.startedAtMs !== undefined || observed.lastStatus === 'RUNNING';
  if (taskStatusRank(next.lastStatus) >= taskStatusRank('RUNNING') && next.startedAtMs === null && started) {
    next.startedAtMs = observed.startedAtMs ?? nowMs;
  }
  if (next.lastStatus === 'STOPPED') {
    // A task that stops by itself is no longer desired to run; a requested stop keeps its own code and reason.
    next.desiredStatus = 'STOPPED';
    next.stopCode ??= observed.stopCode ?? 'EssentialContainerExited';
    next.stoppedReason ??= observed.stoppedReason ?? 'Essential container in task exited';
    next.stoppingAtMs ??= nowMs;
    next.executionStoppedAtMs ??= observed.executionStoppedAtMs ?? nowMs;
    next.stoppedAtMs = nowMs;
  }
  if (!changedBeyondSeq(state, next)) return { ...state, reportSeq: seq };
  next.version = state.version + 1;
  return next;
}

function mergeContainer(observed: ObservedTask, nowMs: number) {
  return (record: ContainerRecord): ContainerRecord => {
    const report = observed.containers.find((c) => c.name === record.name);
    // A stopped container's exit code, reason and last health are final.
    if (!report || record.lastStatus === 'STOPPED') return record;
    const forward = containerStatusRank(report.lastStatus) >= containerStatusRank(record.lastStatus);
    if (!forward) return record;
    // Unlike status, health moves both ways; a report without it (no check, or an older agent) keeps the last one.
    const healthStatus = report.healthStatus ?? record.healthStatus;
    return {
      ...record,
      healthStatus,
      // Since when it has been HEALTHY without a break (Berth's minimum healthy time counts from
      // here); a record from before this field keeps none and counts from the task's start.
      healthySinceMs:
        healthStatus !== 'HEALTHY'
          ? undefined
          : record.healthStatus === 'HEALTHY'
            ? record.healthySinceMs
            : nowMs,
      lastStatus: report.lastStatus,
      runtimeId: report.runtimeId ?? record.runtimeId,
      // The container's image never changes: the first digest reported is kept.
      imageDigest: record.imageDigest ?? report.imageDigest,
      exitCode: report.exitCode ?? record.exitCode,
      reason: report.reason ?? record.reason,
      networkBindings: report.networkBindings ?? record.networkBindings,
    };
  };
}

function changedBeyondSeq(before: TaskState, after: TaskState): boolean {
  const { reportSeq: _a, ...x } = before;
  const { reportSeq: _b, ...y } = after;
  return JSON.stringify(x) !== JSON.stringify(y);
}

/**
 * Records a stop request. Returns undefined when the task is already on its way to STOPPED, so a
 * repeated StopTask neither bumps the generation nor sends a second command.
 */
export function requestStop(
  state: TaskState,
  stopCode: StopCode,
  reason: string,
  nowMs: number,
): TaskState | undefined {
  if (state.desiredStatus === 'STOPPED') return undefined;
  return {
    ...state,
    desiredStatus: 'STOPPED',
    generation: state.generation + 1,
    version: state.version + 1,
    stopCode,
    stoppedReason: reason,
    stoppingAtMs: nowMs,
  };
}

/**
 * Finishes a task that never reached an agent (or whose instance was force-deregistered): the control plane
 * is the only witness, so it writes the final status itself.
 */
export function stopWithoutAgent(
  state: TaskState,
  stopCode: StopCode,
  reason: string,
  nowMs: number,
): TaskState {
  if (state.lastStatus === 'STOPPED') return state;
  return {
    ...state,
    desiredStatus: 'STOPPED',
    lastStatus: 'STOPPED',
    generation: state.desiredStatus === 'STOPPED' ? state.generation : state.generation + 1,
    version: state.version + 1,
    stopCode: state.stopCode ?? stopCode,
    stoppedReason: state.stoppedReason ?? reason,
    stoppingAtMs: state.stoppingAtMs ?? nowMs,
    stoppedAtMs: nowMs,
    executionStoppedAtMs: nowMs,
    containers: state.containers.map((c) =>
      c.lastStatus === 'STOPPED' ? c : { ...c, lastStatus: 'STOPPED' },
    ),
  };
}
