/**
 * Berth's deployment extensions at the unit level: reading the `berth:` tags, and what each one
 * changes in the scheduler's decisions (a pure function, so every case is one call).
 */
import { describe, expect, it } from 'vitest';
import { EcsError } from '../../worker/core/errors';
import {
  type SchedulerDeployment,
  type SchedulerService,
  type SchedulerTask,
  scheduleReplicaService,
} from '../../worker/core/services/replica-scheduler';
import { serviceExtensionsOf } from '../../worker/core/services/service-extensions';

const NOW_MS = 1_000_000;
const HEALTHY_AFTER_MS = 40_000;
const OPTIONS = { nowMs: NOW_MS, healthyAfterMs: HEALTHY_AFTER_MS };

const service = (overrides: Partial<SchedulerService> = {}): SchedulerService => ({
  status: 'ACTIVE',
  desiredCount: 4,
  minimumHealthyPercent: 100,
  maximumPercent: 200,
  ...overrides,
});
const primary = (overrides: Partial<SchedulerDeployment> = {}): SchedulerDeployment => ({
  id: 'ecs-svc/2',
  status: 'PRIMARY',
  rolloutState: 'IN_PROGRESS',
  ...overrides,
});
const old: SchedulerDeployment = { id: 'ecs-svc/1', status: 'ACTIVE', rolloutState: 'COMPLETED' };

let counter = 0;
const task = (overrides: Partial<SchedulerTask> = {}): SchedulerTask => {
  counter += 1;
  return {
    arn: `task-${String(counter).padStart(4, '0')}`,
    deploymentId: 'ecs-svc/2',
    instanceArn: `i-${counter % 3}`,
    lastStatus: 'RUNNING',
    desiredStatus: 'RUNNING',
    startedAtMs: NOW_MS - HEALTHY_AFTER_MS,
    ...overrides,
  };
};
const oldTasks = (n: number) => Array.from({ length: n }, () => task({ deploymentId: 'ecs-svc/1' }));

describe('the berth: tags', () => {
  it('reads every setting, with durations in seconds, minutes or hours', () => {
    expect(
      serviceExtensionsOf([
        { key: 'team', value: 'a' },
        { key: 'berth:progress-deadline', value: '10m' },
        { key: 'berth:min-healthy-time', value: '90' },
        { key: 'berth:update-order', value: 'stop-first' },
        { key: 'berth:disconnect-replace-after', value: '2h' },
        { key: 'berth:disconnect-reconcile', value: 'keep-replacement' },
      ]),
    ).toEqual({
      progressDeadlineMs: 600_000,
      minHealthyTimeMs: 90_000,
      updateOrder: 'stop-first',
      disconnectReplaceAfterMs: 7_200_000,
      disconnectReconcile: 'keep-replacement',
    });
    expect(serviceExtensionsOf([])).toEqual({ minHealthyTimeMs: 0, disconnectReconcile: 'keep-original' });
  });

  it.each([
    ['berth:progress-deadline', '0', /between 1 s and 24 h/],
    ['berth:progress-deadline', '-5', /not a duration/],
    ['berth:min-healthy-time', '25h', /between 0 s and 24 h/],
    ['berth:min-healthy-time', '1d', /not a duration/],
    ['berth:update-order', 'START-FIRST', /must be one of start-first, stop-first/],
    ['Berth:Update-Order', 'start-first', /is not a Berth setting/],
    ['berth:', 'x', /is not a Berth setting/],
  ])('refuses %s = %s, naming the tag', (key, value, message) => {
    const attempt = () =>
      serviceExtensionsOf([
        { key: 'other', value: '' },
        { key, value },
      ]);
    expect(attempt).toThrow(EcsError);
    expect(attempt).toThrow(message);
    expect(attempt).toThrow(/tags\[1\]/);
  });
});

describe('the update order', () => {
  it('stop-first never starts above desiredCount, and stops one old task even at minimum 100 %', () => {
    const out = scheduleReplicaService(
      service({ updateOrder: 'stop-first' }),
      [primary(), old],
      oldTasks(4),
      OPTIONS,
    );
    expect(out.start).toBe(0);
    expect(out.stop).toHaveLength(1);
    expect(out.blocked).toBe(false);
  });

  it('start-first keeps desiredCount healthy tasks even at minimum 0 %', () => {
    const out = scheduleReplicaService(
      service({ minimumHealthyPercent: 0, updateOrder: 'start-first' }),
      [primary(), old],
      oldTasks(4),
      OPTIONS,
    );
    expect(out.stop).toEqual([]);
    expect(out.start).toBe(4);
  });
});

describe('pause and failure', () => {
  it('a paused rollout stops no old task and starts nothing while old tasks fill desiredCount', () => {
    const tasks = [...oldTasks(2), task(), task()];
    const out = scheduleReplicaService(service(), [primary({ paused: true }), old], tasks, OPTIONS);
    expect(out).toMatchObject({ start: 0, stop: [], steady: false, blocked: false });
  });

  it('a paused rollout still replaces a task that is gone', () => {
    const tasks = [...oldTasks(2), task()];
    const out = scheduleReplicaService(service(), [primary({ paused: true }), old], tasks, OPTIONS);
    expect(out.start).toBe(1);
  });

  it('a FAILED deployment launches nothing, even below desiredCount', () => {
    const out = scheduleReplicaService(
      service(),
      [primary({ rolloutState: 'FAILED' }), old],
      oldTasks(2),
      OPTIONS,
    );
    expect(out).toMatchObject({ start: 0, stop: [] });
  });

  it('the progress mark grows as new tasks count and old ones go', () => {
    const before = scheduleReplicaService(service(), [primary(), old], oldTasks(4), OPTIONS);
    const after = scheduleReplicaService(
      service(),
      [primary(), old],
      [...oldTasks(2), task(), task()],
      OPTIONS,
    );
    expect(after.progressMark).toBeGreaterThan(before.progressMark);
  });
});

describe('the minimum healthy time', () => {
  it('counts a new task only once it has been healthy that long, and asks to look again then', () => {
    const fresh = task({ healthStatus: 'HEALTHY', healthChecked: true, healthySinceMs: NOW_MS - 1_000 });
    const options = { ...OPTIONS, minHealthyTimeMs: 5_000 };
    const out = scheduleReplicaService(
      service({ desiredCount: 1 }),
      [primary(), old],
      [fresh, ...oldTasks(1)],
      options,
    );
    expect(out.stop).toEqual([]);
    expect(out.nextCheckAtMs).toBe(NOW_MS + 4_000);
    const later = scheduleReplicaService(
      service({ desiredCount: 1 }),
      [primary(), old],
      [fresh, ...oldTasks(1)],
      {
        ...options,
        nowMs: NOW_MS + 4_000,
      },
    );
    expect(later.stop).toHaveLength(1);
  });
});

describe('the disconnect policy', () => {
  it('replaces a lost task without counting it toward the maximum', () => {
    const lost = task({ lost: true });
    const out = scheduleReplicaService(
      service({ desiredCount: 2, maximumPercent: 100, minimumHealthyPercent: 0 }),
      [primary()],
      [lost, task()],
      OPTIONS,
    );
    expect(out.start).toBe(1);
    expect(out.stop).toEqual([]);
  });

  it('keep-replacement asks to stop the lost task (heard when its host returns)', () => {
    const lost = task({ lost: true });
    const out = scheduleReplicaService(
      service({ desiredCount: 1, disconnectReconcile: 'keep-replacement' }),
      [primary()],
      [lost],
      OPTIONS,
    );
    expect(out.stop).toEqual([{ taskArn: lost.arn, why: 'lost' }]);
    expect(out.start).toBe(1);
  });

  it('keep-original scales in the youngest copy once the host is back', () => {
    const original = task({ startedAtMs: NOW_MS - 100_000 });
    const replacement = task({ startedAtMs: NOW_MS - 50_000 });
    const out = scheduleReplicaService(
      service({ desiredCount: 1, disconnectReconcile: 'keep-original' }),
      [primary()],
      [replacement, original],
      OPTIONS,
    );
    expect(out.stop).toEqual([{ taskArn: replacement.arn, why: 'scale-in' }]);
  });
});
