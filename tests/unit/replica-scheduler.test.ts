import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  maximumTasks,
  minimumHealthyTasks,
  type SchedulerDeployment,
  type SchedulerService,
  type SchedulerTask,
  scheduleReplicaService,
} from '../../worker/core/services/replica-scheduler';

const NOW_MS = 1_000_000;
const HEALTHY_AFTER_MS = 40_000;
const OPTIONS = { nowMs: NOW_MS, healthyAfterMs: HEALTHY_AFTER_MS };

function service(overrides: Partial<SchedulerService> = {}): SchedulerService {
  return { status: 'ACTIVE', desiredCount: 4, minimumHealthyPercent: 100, maximumPercent: 200, ...overrides };
}

const primary = (id = 'ecs-svc/2'): SchedulerDeployment => ({
  id,
  status: 'PRIMARY',
  rolloutState: 'IN_PROGRESS',
});
const old = (id = 'ecs-svc/1'): SchedulerDeployment => ({ id, status: 'ACTIVE', rolloutState: 'COMPLETED' });

let nextTask = 0;
function task(overrides: Partial<SchedulerTask> = {}): SchedulerTask {
  nextTask += 1;
  return {
    arn: `task-${String(nextTask).padStart(4, '0')}`,
    deploymentId: 'ecs-svc/2',
    instanceArn: `i-${nextTask % 3}`,
    lastStatus: 'RUNNING',
    desiredStatus: 'RUNNING',
    startedAtMs: NOW_MS - HEALTHY_AFTER_MS,
    ...overrides,
  };
}
const healthyOld = (n: number, instanceArn?: string) =>
  Array.from({ length: n }, () =>
    task({ deploymentId: 'ecs-svc/1', ...(instanceArn ? { instanceArn } : {}) }),
  );

describe('the deployment bounds', () => {
  it('rounds the minimum up and the maximum down, as ECS computes them', () => {
    expect(minimumHealthyTasks(4, 50)).toBe(2);
    expect(minimumHealthyTasks(2, 75)).toBe(2);
    expect(maximumTasks(4, 200)).toBe(8);
    expect(maximumTasks(3, 125)).toBe(3);
  });

  it('desired 4, min 50: stops 2 old tasks before new ones start', () => {
    const out = scheduleReplicaService(
      service({ minimumHealthyPercent: 50, maximumPercent: 100 }),
      [primary(), old()],
      healthyOld(4),
      OPTIONS,
    );
    expect(out.stop).toHaveLength(2);
    expect(out.start).toBe(0);
  });

  it('desired 2, min 75, max 100: can neither stop nor start, and says so', () => {
    const out = scheduleReplicaService(
      service({ desiredCount: 2, minimumHealthyPercent: 75, maximumPercent: 100 }),
      [primary(), old()],
      healthyOld(2),
      OPTIONS,
    );
    expect(out).toMatchObject({ start: 0, stop: [], blocked: true });
  });

  it('desired 4, max 200: starts 4 new tasks before any old one stops', () => {
    const out = scheduleReplicaService(service(), [primary(), old()], healthyOld(4), OPTIONS);
    expect(out).toMatchObject({ start: 4, stop: [] });
  });

  it('desired 3, max 125, min 100: nothing can start, nothing can stop', () => {
    const out = scheduleReplicaService(
      service({ desiredCount: 3, maximumPercent: 125 }),
      [primary(), old()],
      healthyOld(3),
      OPTIONS,
    );
    expect(out).toMatchObject({ start: 0, stop: [], blocked: true });
  });
});

describe('the REPLICA scheduler', () => {
  it('starts desiredCount tasks for a new service', () => {
    expect(scheduleReplicaService(service(), [primary()], [], OPTIONS).start).toBe(4);
  });

  it('completes the deployment once desiredCount tasks are healthy and no old one is left', () => {
    const out = scheduleReplicaService(service(), [primary()], [task(), task(), task(), task()], OPTIONS);
    expect(out).toMatchObject({ start: 0, stop: [], steady: true, primaryCompleted: true });
  });

  it('waits for a task that is RUNNING but not yet healthy, and says when to look again', () => {
    const young = task({ startedAtMs: NOW_MS - 1_000 });
    const out = scheduleReplicaService(service({ desiredCount: 1 }), [primary()], [young], OPTIONS);
    expect(out).toMatchObject({ steady: false, nextCheckAtMs: NOW_MS - 1_000 + HEALTHY_AFTER_MS });
  });

  it('counts a task reported HEALTHY at once and an UNHEALTHY one never', () => {
    const healthy = task({ startedAtMs: NOW_MS, healthStatus: 'HEALTHY' });
    expect(scheduleReplicaService(service({ desiredCount: 1 }), [primary()], [healthy], OPTIONS).steady).toBe(
      true,
    );
    const unhealthy = task({ healthStatus: 'UNHEALTHY' });
    const out = scheduleReplicaService(service({ desiredCount: 1 }), [primary()], [unhealthy], OPTIONS);
    expect(out).toMatchObject({ steady: false, start: 1, stop: [] });
  });

  it('replaces an UNHEALTHY task start-first: the replacement starts, then the task stops once it is healthy', () => {
    const unhealthy = task({ healthStatus: 'UNHEALTHY' });
    const svc = service({ desiredCount: 2 });
    const others = [task()];
    expect(scheduleReplicaService(svc, [primary()], [unhealthy, ...others], OPTIONS)).toMatchObject({
      start: 1,
      stop: [],
    });
    const young = task({ startedAtMs: NOW_MS - 1 });
    expect(scheduleReplicaService(svc, [primary()], [unhealthy, ...others, young], OPTIONS).stop).toEqual([]);
    const grown = task();
    expect(scheduleReplicaService(svc, [primary()], [unhealthy, ...others, grown], OPTIONS).stop).toEqual([
      { taskArn: unhealthy.arn, why: 'unhealthy' },
    ]);
  });

  it('stops UNHEALTHY tasks one at a time when the maximum leaves no room for a replacement', () => {
    const sick = [task({ healthStatus: 'UNHEALTHY' }), task({ healthStatus: 'UNHEALTHY' })];
    const out = scheduleReplicaService(
      service({ desiredCount: 3, maximumPercent: 100 }),
      [primary()],
      [...sick, task()],
      OPTIONS,
    );
    expect(out).toMatchObject({ start: 0 });
    expect(out.stop).toHaveLength(1);
    expect(out.stop[0].why).toBe('unhealthy');
  });

  it('never counts by age a task whose essential container has a health check', () => {
    const checked = task({ healthChecked: true, healthStatus: 'UNKNOWN' });
    const out = scheduleReplicaService(service({ desiredCount: 1 }), [primary()], [checked], OPTIONS);
    expect(out.steady).toBe(false);
    expect(out.nextCheckAtMs).toBeUndefined();
  });

  it('scales in from the instance holding most of the service tasks', () => {
    const crowded = [
      task({ instanceArn: 'i-a' }),
      task({ instanceArn: 'i-a' }),
      task({ instanceArn: 'i-a' }),
    ];
    const alone = task({ instanceArn: 'i-b' });
    const out = scheduleReplicaService(
      service({ desiredCount: 2 }),
      [primary()],
      [...crowded, alone],
      OPTIONS,
    );
    expect(out.stop).toHaveLength(2);
    expect(out.stop.map((s) => s.taskArn)).not.toContain(alone.arn);
  });

  it('stops every task of a DRAINING service and makes it INACTIVE when none is left', () => {
    const tasks = [task(), task()];
    const draining = service({ status: 'DRAINING', desiredCount: 0 });
    expect(scheduleReplicaService(draining, [primary()], tasks, OPTIONS).stop).toHaveLength(2);
    expect(scheduleReplicaService(draining, [primary()], [], OPTIONS).serviceInactive).toBe(true);
  });

  it('finishes an old deployment once none of its tasks is left', () => {
    const out = scheduleReplicaService(service({ desiredCount: 1 }), [primary(), old()], [task()], OPTIONS);
    expect(out.finishedDeployments).toEqual(['ecs-svc/1']);
  });

  it('replaces tasks on a DRAINING instance within the bounds', () => {
    const onDraining = task({ onDrainingInstance: true });
    const out = scheduleReplicaService(service({ desiredCount: 1 }), [primary()], [onDraining], OPTIONS);
    expect(out).toMatchObject({ start: 1, stop: [] });
  });
});

/** Tasks of an old and a new deployment in any state, any bounds, any desired count. */
const scenario = fc.record({
  desiredCount: fc.integer({ min: 0, max: 12 }),
  minimumHealthyPercent: fc.integer({ min: 0, max: 100 }),
  maximumPercent: fc.integer({ min: 100, max: 250 }),
  tasks: fc.array(
    fc.record({
      deploymentId: fc.constantFrom('ecs-svc/1', 'ecs-svc/2'),
      lastStatus: fc.constantFrom('PENDING', 'RUNNING'),
      stopping: fc.boolean(),
      ageMs: fc.integer({ min: 0, max: 2 * HEALTHY_AFTER_MS }),
      instance: fc.integer({ min: 0, max: 3 }),
    }),
    { maxLength: 30 },
  ),
});

describe('the bounds hold whatever the state', () => {
  it('never lets healthy tasks fall below the minimum by stopping old ones, and never starts past the maximum', () => {
    fc.assert(
      fc.property(scenario, (s) => {
        const tasks = s.tasks.map((t, i) =>
          task({
            arn: `t-${String(i).padStart(3, '0')}`,
            deploymentId: t.deploymentId,
            lastStatus: t.lastStatus,
            desiredStatus: t.stopping ? 'STOPPED' : 'RUNNING',
            startedAtMs: t.lastStatus === 'RUNNING' ? NOW_MS - t.ageMs : null,
            instanceArn: `i-${t.instance}`,
          }),
        );
        const svc = service({
          desiredCount: s.desiredCount,
          minimumHealthyPercent: s.minimumHealthyPercent,
          maximumPercent: s.maximumPercent,
        });
        const out = scheduleReplicaService(svc, [primary(), old()], tasks, OPTIONS);
        const healthy = (t: SchedulerTask) =>
          t.desiredStatus === 'RUNNING' &&
          t.lastStatus === 'RUNNING' &&
          NOW_MS - (t.startedAtMs ?? NOW_MS) >= HEALTHY_AFTER_MS;
        const stopped = new Set(out.stop.map((x) => x.taskArn));
        const healthyBefore = tasks.filter(healthy).length;
        const healthyAfter = tasks.filter((t) => healthy(t) && !stopped.has(t.arn)).length;
        const minimum = minimumHealthyTasks(s.desiredCount, s.minimumHealthyPercent);
        const oldHealthyStopped = out.stop.some((x) => {
          const t = tasks.find((u) => u.arn === x.taskArn)!;
          return x.why === 'replaced' && healthy(t);
        });
        // Stopping healthy old tasks never takes the healthy count below the minimum.
        if (oldHealthyStopped) expect(healthyAfter).toBeGreaterThanOrEqual(minimum);
        // Starts never push the number of tasks that exist past the maximum.
        expect(out.start).toBeGreaterThanOrEqual(0);
        if (out.start > 0) {
          expect(tasks.length + out.start).toBeLessThanOrEqual(
            maximumTasks(s.desiredCount, s.maximumPercent),
          );
        }
        // The current deployment never gets more than desiredCount tasks.
        const current = tasks.filter(
          (t) => t.deploymentId === 'ecs-svc/2' && t.desiredStatus === 'RUNNING' && !stopped.has(t.arn),
        );
        expect(current.length + out.start).toBeLessThanOrEqual(Math.max(s.desiredCount, current.length));
        expect(healthyBefore).toBeGreaterThanOrEqual(healthyAfter);
        // Every task is stopped at most once.
        expect(stopped.size).toBe(out.stop.length);
      }),
      { numRuns: 500 },
    );
  });
});
