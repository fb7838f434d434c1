import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseBerthConfig } from '../../worker/config';
import {
  advanceBreaker,
  type BreakerObservation,
  breakerThreshold,
  breakerTripped,
  classifyStoppedTask,
  MAX_THROTTLE_DELAY_MS,
  throttleDelayMs,
} from '../../worker/core/services/circuit-breaker';
import { scheduleReplicaService } from '../../worker/core/services/replica-scheduler';

const on = { enable: true, rollback: true };
const failed = (
  failure: 'failed-to-start' | 'failed-health-checks' | 'exited-before-healthy' = 'failed-to-start',
) => ({ kind: 'failed', failure }) as const;
const healthy = { kind: 'healthy' } as const;

describe('the circuit breaker threshold', () => {
  it('is ceil(0.5 × desired) clamped to [3, 200] by default (BOUNDED_PERCENT 50)', () => {
    const cases: [number, number][] = [
      [0, 3],
      [1, 3],
      [5, 3],
      [6, 3],
      [7, 4],
      [25, 13],
      [400, 200],
      [800, 200],
    ];
    for (const [desired, threshold] of cases) expect(breakerThreshold(on, desired)).toBe(threshold);
  });

  it('takes BOUNDED_PERCENT, UNBOUNDED_PERCENT and COUNT as the model documents them', () => {
    const bounded = (value: number) => ({
      ...on,
      thresholdConfiguration: { type: 'BOUNDED_PERCENT' as const, value },
    });
    const unbounded = (value: number) => ({
      ...on,
      thresholdConfiguration: { type: 'UNBOUNDED_PERCENT' as const, value },
    });
    expect(breakerThreshold(bounded(10), 100)).toBe(10);
    expect(breakerThreshold(bounded(10), 10)).toBe(3);
    expect(breakerThreshold(bounded(100), 1000)).toBe(200);
    expect(breakerThreshold(unbounded(100), 1000)).toBe(1000);
    expect(breakerThreshold(unbounded(50), 1)).toBe(1);
    expect(breakerThreshold(unbounded(50), 0)).toBe(1);
    expect(breakerThreshold({ ...on, thresholdConfiguration: { type: 'COUNT', value: 7 } }, 1000)).toBe(7);
  });

  it('is always within [3, 200] for BOUNDED_PERCENT, whatever the count and value', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 5000 }), fc.integer({ min: 1, max: 100 }), (desired, value) => {
        const t = breakerThreshold(
          { ...on, thresholdConfiguration: { type: 'BOUNDED_PERCENT', value } },
          desired,
        );
        return t >= 3 && t <= 200 && (t === 3 || t === 200 || t === Math.ceil((value * desired) / 100));
      }),
    );
  });
});

describe('which stopped tasks count as failures', () => {
  const facts = {
    reachedRunning: false,
    stopCode: 'EssentialContainerExited',
    healthStatus: 'UNKNOWN' as const,
    wasHealthy: false,
  };

  it('stage 1: a task that stopped by itself before RUNNING failed to start', () => {
    expect(classifyStoppedTask(facts)).toBe('failed-to-start');
    expect(classifyStoppedTask({ ...facts, stopCode: 'TaskFailedToStart' })).toBe('failed-to-start');
  });

  it('a stop that is not the task’s fault (scale-in, a user, a lost instance) is no failure', () => {
    expect(classifyStoppedTask({ ...facts, stopCode: 'ServiceSchedulerInitiated' })).toBeNull();
    expect(classifyStoppedTask({ ...facts, stopCode: 'UserInitiated' })).toBeNull();
    expect(
      classifyStoppedTask({ ...facts, reachedRunning: true, stopCode: 'ServiceSchedulerInitiated' }),
    ).toBeNull();
    // A force-deregistered instance's tasks are stopped as TaskFailedToStart, but not by their fault.
    expect(
      classifyStoppedTask({ ...facts, stopCode: 'TaskFailedToStart', instanceRemoved: true }),
    ).toBeNull();
    expect(classifyStoppedTask({ ...facts, reachedRunning: true, instanceRemoved: true })).toBeNull();
  });

  it('stage 2: a task the scheduler stopped as UNHEALTHY failed its health checks', () => {
    expect(
      classifyStoppedTask({
        ...facts,
        reachedRunning: true,
        stopCode: 'ServiceSchedulerInitiated',
        healthStatus: 'UNHEALTHY',
      }),
    ).toBe('failed-health-checks');
  });

  it('beyond ECS (containers-roadmap#1206): a task that exits after RUNNING before it counted as healthy fails', () => {
    expect(classifyStoppedTask({ ...facts, reachedRunning: true })).toBe('exited-before-healthy');
    expect(classifyStoppedTask({ ...facts, reachedRunning: true, wasHealthy: true })).toBeNull();
  });
});

describe('the breaker’s count and trip', () => {
  const start = { failedTasks: 0, sawRunning: false };

  it('counts consecutive failures and trips at the threshold', () => {
    const two = advanceBreaker(start, [failed(), failed()], on);
    expect(two).toEqual({ failedTasks: 2, sawRunning: false });
    expect(breakerTripped(two, on, 2)).toBe(false);
    const three = advanceBreaker(two, [failed()], on);
    expect(breakerTripped(three, on, 2)).toBe(true);
  });

  it('does not trip when disabled, though it still counts failedTasks', () => {
    const off = { enable: false, rollback: false };
    const state = advanceBreaker(start, [failed(), failed(), failed(), failed()], off);
    expect(state.failedTasks).toBe(4);
    expect(breakerTripped(state, off, 1)).toBe(false);
  });

  it('a task turning healthy resets the count, unless resetOnHealthyTask is false', () => {
    const observations: BreakerObservation[] = [failed(), failed(), healthy, failed()];
    expect(advanceBreaker(start, observations, on).failedTasks).toBe(1);
    expect(advanceBreaker(start, observations, { ...on, resetOnHealthyTask: false }).failedTasks).toBe(3);
  });

  it('enters stage 2 once a task reached RUNNING', () => {
    expect(advanceBreaker(start, [{ kind: 'running' }], on).sawRunning).toBe(true);
    expect(advanceBreaker(start, [failed('failed-health-checks')], on)).toEqual({
      failedTasks: 1,
      sawRunning: true,
    });
  });

  it('with reset on, the count is the failures since the last healthy task, for any history', () => {
    const observation = fc.constantFrom<BreakerObservation>(failed(), healthy, { kind: 'running' });
    fc.assert(
      fc.property(fc.array(observation, { maxLength: 40 }), (history) => {
        const lastHealthy = history.map((o) => o.kind).lastIndexOf('healthy');
        const expected = history.slice(lastHealthy + 1).filter((o) => o.kind === 'failed').length;
        return advanceBreaker(start, history, on).failedTasks === expected;
      }),
    );
  });
});

describe('the failed-start back-off', () => {
  it('waits nothing before a failure, then doubles from the base up to 15 minutes', () => {
    expect(throttleDelayMs(0, 10_000)).toBe(0);
    expect([1, 2, 3, 4].map((n) => throttleDelayMs(n, 10_000))).toEqual([10_000, 20_000, 40_000, 80_000]);
    expect(throttleDelayMs(7, 10_000)).toBe(640_000);
    expect(throttleDelayMs(8, 10_000)).toBe(MAX_THROTTLE_DELAY_MS);
    expect(throttleDelayMs(10_000, 10_000)).toBe(MAX_THROTTLE_DELAY_MS);
  });

  it('takes its base from BERTH_SERVICE_THROTTLE_BASE_MS, refusing a bad value by name', () => {
    expect(parseBerthConfig({ BERTH_SERVICE_THROTTLE_BASE_MS: '250' }).serviceThrottleBaseMs).toBe(250);
    expect(parseBerthConfig({}).serviceThrottleBaseMs).toBeUndefined();
    for (const bad of ['0', '-5', '1.5', 'soon']) {
      expect(() => parseBerthConfig({ BERTH_SERVICE_THROTTLE_BASE_MS: bad })).toThrow(
        /^BERTH_SERVICE_THROTTLE_BASE_MS: /,
      );
    }
  });

  it('never shrinks as failures accumulate and never exceeds the cap', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 200 }), fc.integer({ min: 1, max: 100_000 }), (n, base) => {
        const d = throttleDelayMs(n, base);
        return d <= MAX_THROTTLE_DELAY_MS && throttleDelayMs(n + 1, base) >= d;
      }),
    );
  });
});

describe('the scheduler with a FAILED deployment', () => {
  it('launches nothing and stops nothing for it: the old tasks keep running', () => {
    const decisions = scheduleReplicaService(
      { status: 'ACTIVE', desiredCount: 2, minimumHealthyPercent: 100, maximumPercent: 200 },
      [
        { id: 'ecs-svc/2', status: 'PRIMARY', rolloutState: 'FAILED' },
        { id: 'ecs-svc/1', status: 'ACTIVE', rolloutState: 'COMPLETED' },
      ],
      ['a', 'b'].map((arn) => ({
        arn,
        deploymentId: 'ecs-svc/1',
        instanceArn: 'i-1',
        lastStatus: 'RUNNING',
        desiredStatus: 'RUNNING',
        startedAtMs: 0,
      })),
      { nowMs: 100_000, healthyAfterMs: 40_000 },
    );
    expect(decisions).toMatchObject({ start: 0, stop: [], steady: false, primaryCompleted: false });
  });
});
