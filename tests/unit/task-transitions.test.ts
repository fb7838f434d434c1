import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type ObservedTask, TASK_STATUSES, taskStatusRank } from '../../protocol/agent-protocol';
import { applyReport, requestStop, stopWithoutAgent } from '../../worker/core/tasks/transitions';
import { aTaskState } from '../helpers/builders';

const NOW = 1_700_000_000_000;

const taskState = aTaskState;

function report(lastStatus: ObservedTask['lastStatus'], extra: Partial<ObservedTask> = {}): ObservedTask {
  const containerStatus =
    lastStatus === 'STOPPED' ? 'STOPPED' : lastStatus === 'RUNNING' ? 'RUNNING' : 'PENDING';
  return {
    taskArn: 'arn:task/1',
    generation: 1,
    lastStatus,
    containers: [{ name: 'main', lastStatus: containerStatus, runtimeId: 'abc' }],
    ...extra,
  };
}

describe('the task status order', () => {
  it('lists the ECS lifecycle from PROVISIONING to STOPPED', () => {
    expect(TASK_STATUSES[0]).toBe('PROVISIONING');
    expect(taskStatusRank('PENDING')).toBeLessThan(taskStatusRank('RUNNING'));
    expect(taskStatusRank('RUNNING')).toBeLessThan(taskStatusRank('STOPPING'));
    expect(taskStatusRank('STOPPING')).toBeLessThan(taskStatusRank('STOPPED'));
  });
});

describe('applyReport', () => {
  it('moves a task to RUNNING and records when it started', () => {
    const next = applyReport(taskState(), report('RUNNING', { startedAtMs: NOW - 5 }), 0, NOW)!;
    expect(next.lastStatus).toBe('RUNNING');
    expect(next.startedAtMs).toBe(NOW - 5);
    expect(next.containers[0].runtimeId).toBe('abc');
    expect(next.version).toBe(2);
  });

  it("records a container's image digest once: the first one reported stays", () => {
    const first = `sha256:${'a'.repeat(64)}`;
    const withDigest = (imageDigest?: string) =>
      report('RUNNING', { containers: [{ name: 'main', lastStatus: 'RUNNING', imageDigest }] });
    const running = applyReport(taskState(), withDigest(first), 1, NOW)!;
    expect(running.containers[0].imageDigest).toBe(first);
    // An older agent's report (no digest) and a different digest later both leave it as it was.
    expect(applyReport(running, withDigest(undefined), 2, NOW)?.containers[0].imageDigest ?? first).toBe(
      first,
    );
    const later = applyReport(running, withDigest(`sha256:${'b'.repeat(64)}`), 3, NOW);
    expect(later?.containers[0].imageDigest ?? first).toBe(first);
  });

  it('keeps no start time for a task that went from PENDING straight to STOPPED (it never started)', () => {
    const never = applyReport(taskState(), report('STOPPED'), 0, NOW)!;
    expect(never.lastStatus).toBe('STOPPED');
    expect(never.startedAtMs).toBeNull();
    expect(never.stopCode).toBe('EssentialContainerExited');
    // With the agent's start time it did start (it ran, then exited between two reports).
    const brief = applyReport(taskState(), report('STOPPED', { startedAtMs: NOW - 3 }), 0, NOW)!;
    expect(brief.startedAtMs).toBe(NOW - 3);
  });

  it('ignores a report older than the one recorded', () => {
    const state = taskState({ reportSeq: 5, lastStatus: 'RUNNING' });
    expect(applyReport(state, report('STOPPED'), 5, NOW)).toBeUndefined();
    expect(applyReport(state, report('STOPPED'), 4, NOW)).toBeUndefined();
  });

  it('never moves a recorded status backwards, even for a newer report', () => {
    const stopped = taskState({ lastStatus: 'STOPPED', desiredStatus: 'STOPPED', reportSeq: 3 });
    const next = applyReport(stopped, report('RUNNING'), 9, NOW);
    expect(next?.lastStatus ?? stopped.lastStatus).toBe('STOPPED');
  });

  it('marks a task that stopped by itself as no longer desired, with the essential-exit code', () => {
    const running = taskState({ lastStatus: 'RUNNING', reportSeq: 1 });
    const next = applyReport(
      running,
      {
        ...report('STOPPED'),
        containers: [{ name: 'main', lastStatus: 'STOPPED', exitCode: 3 }],
      },
      2,
      NOW,
    )!;
    expect(next.desiredStatus).toBe('STOPPED');
    expect(next.stopCode).toBe('EssentialContainerExited');
    expect(next.containers[0].exitCode).toBe(3);
    expect(next.stoppedAtMs).toBe(NOW);
  });

  it('keeps the stop code and reason of a user stop when the agent reports STOPPED', () => {
    const stopping = requestStop(taskState({ lastStatus: 'RUNNING' }), 'UserInitiated', 'bye', NOW)!;
    const next = applyReport(
      stopping,
      report('STOPPED', { stopCode: 'EssentialContainerExited' }),
      0,
      NOW + 1,
    )!;
    expect(next.stopCode).toBe('UserInitiated');
    expect(next.stoppedReason).toBe('bye');
  });

  it('never lowers a status for any sequence of reports (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...TASK_STATUSES), { maxLength: 20 }), (statuses) => {
        let state = taskState();
        let highest = taskStatusRank(state.lastStatus);
        statuses.forEach((status, seq) => {
          state = applyReport(state, report(status), seq, NOW) ?? state;
          expect(taskStatusRank(state.lastStatus)).toBeGreaterThanOrEqual(highest);
          highest = taskStatusRank(state.lastStatus);
        });
      }),
    );
  });
});

describe('requestStop', () => {
  it('bumps the generation once and ignores a repeated stop', () => {
    const first = requestStop(taskState({ lastStatus: 'RUNNING' }), 'UserInitiated', 'stop', NOW)!;
    expect(first.generation).toBe(2);
    expect(first.desiredStatus).toBe('STOPPED');
    expect(first.stoppingAtMs).toBe(NOW);
    expect(requestStop(first, 'UserInitiated', 'again', NOW + 1)).toBeUndefined();
  });
});

describe('stopWithoutAgent', () => {
  it('finishes a task and its containers when no agent can', () => {
    const next = stopWithoutAgent(taskState(), 'TaskFailedToStart', 'instance deregistered', NOW);
    expect(next.lastStatus).toBe('STOPPED');
    expect(next.containers[0].lastStatus).toBe('STOPPED');
    expect(next.stoppedReason).toBe('instance deregistered');
  });
});
