import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { PlacementInstance } from '../../worker/core/placement';
import { type DaemonService, scheduleDaemonService } from '../../worker/core/services/daemon-scheduler';
import type { SchedulerDeployment, SchedulerTask } from '../../worker/core/services/replica-scheduler';
import { aPlacementInstance, instanceArnFor } from '../helpers/builders';

const NOW_MS = 1_000_000;
const HEALTHY_AFTER_MS = 40_000;
const OPTIONS = { nowMs: NOW_MS, healthyAfterMs: HEALTHY_AFTER_MS };

function daemon(overrides: Partial<DaemonService> = {}): DaemonService {
  return {
    status: 'ACTIVE',
    minimumHealthyPercent: 0,
    maximumPercent: 100,
    group: 'service:agent',
    constraints: [],
    cpu: 128,
    memoryMiB: 64,
    hostPorts: [],
    ...overrides,
  };
}

const primary = (id = 'ecs-svc/2', rolloutState: SchedulerDeployment['rolloutState'] = 'IN_PROGRESS') =>
  ({ id, status: 'PRIMARY', rolloutState }) as SchedulerDeployment;
const old = (id = 'ecs-svc/1'): SchedulerDeployment => ({ id, status: 'ACTIVE', rolloutState: 'COMPLETED' });

const hosts = (count: number, overrides: Partial<PlacementInstance> = {}) =>
  Array.from({ length: count }, (_, i) => aPlacementInstance(`i-${i}`, overrides));

let nextTask = 0;
function task(instance: string, overrides: Partial<SchedulerTask> = {}): SchedulerTask {
  nextTask += 1;
  return {
    arn: `task-${String(nextTask).padStart(4, '0')}`,
    deploymentId: 'ecs-svc/2',
    instanceArn: instanceArnFor(instance),
    lastStatus: 'RUNNING',
    desiredStatus: 'RUNNING',
    startedAtMs: NOW_MS - HEALTHY_AFTER_MS,
    ...overrides,
  };
}

describe('the DAEMON scheduler', () => {
  it('starts one task on every ACTIVE instance with a connected agent, and counts them as desired', () => {
    const instances = [
      ...hosts(3),
      aPlacementInstance('i-draining', { status: 'DRAINING' }),
      aPlacementInstance('i-lost', { agentConnected: false }),
    ];
    const out = scheduleDaemonService(daemon(), [primary()], [], instances, OPTIONS);
    expect(out.startOn).toEqual(hosts(3).map((i) => i.arn));
    expect(out.start).toBe(3);
    expect(out.desiredCount).toBe(3);
    expect(out.steady).toBe(false);
  });

  it('is steady with one healthy task per instance, and completes the PRIMARY deployment', () => {
    const out = scheduleDaemonService(
      daemon(),
      [primary()],
      ['i-0', 'i-1'].map((i) => task(i)),
      hosts(2),
      OPTIONS,
    );
    expect(out).toMatchObject({ start: 0, stop: [], steady: true, primaryCompleted: true, desiredCount: 2 });
  });

  it('places only on instances matching the memberOf constraints and stops tasks on those that stopped matching', () => {
    const instances = [
      aPlacementInstance('i-0', { attributes: { role: 'edge' } }),
      aPlacementInstance('i-1', { attributes: { role: 'core' } }),
      aPlacementInstance('i-2', { attributes: { role: 'edge' } }),
    ];
    const onCore = task('i-1');
    const out = scheduleDaemonService(
      daemon({ constraints: [{ type: 'memberOf', expression: 'attribute:role == edge' }] }),
      [primary()],
      [task('i-0'), onCore],
      instances,
      OPTIONS,
    );
    expect(out.desiredCount).toBe(2);
    expect(out.startOn).toEqual([instanceArnFor('i-2')]);
    expect(out.stop).toEqual([{ taskArn: onCore.arn, why: 'replaced' }]);
  });

  it('stops its task on a DRAINING instance and on an instance that left the cluster', () => {
    const draining = task('i-1');
    const gone = task('i-gone');
    const out = scheduleDaemonService(
      daemon(),
      [primary()],
      [task('i-0'), draining, gone],
      [aPlacementInstance('i-0'), aPlacementInstance('i-1', { status: 'DRAINING' })],
      OPTIONS,
    );
    expect(out.stop.map((s) => s.taskArn).sort()).toEqual([draining.arn, gone.arn].sort());
    expect(out.desiredCount).toBe(1);
    expect(out.start).toBe(0);
  });

  it('keeps the task of an instance whose agent is gone, without counting it missing', () => {
    const out = scheduleDaemonService(
      daemon(),
      [primary()],
      [task('i-0'), task('i-1')],
      [aPlacementInstance('i-0'), aPlacementInstance('i-1', { agentConnected: false })],
      OPTIONS,
    );
    expect(out).toMatchObject({ stop: [], start: 0, desiredCount: 2, steady: true });
  });

  it('keeps one copy per instance: the healthy one', () => {
    const young = task('i-0', { startedAtMs: NOW_MS - 10 });
    const healthy = task('i-0');
    const out = scheduleDaemonService(daemon(), [primary()], [young, healthy], hosts(1), OPTIONS);
    expect(out.stop).toEqual([{ taskArn: young.arn, why: 'scale-in' }]);
  });

  it('reports the instances without room, with the reason, and does not start there', () => {
    const out = scheduleDaemonService(
      daemon({ cpu: 2048 }),
      [primary()],
      [],
      [aPlacementInstance('i-0'), aPlacementInstance('i-1', { remainingCpu: 1024 })],
      OPTIONS,
    );
    expect(out.startOn).toEqual([instanceArnFor('i-0')]);
    expect(out.unplaced).toEqual([
      { instanceArn: instanceArnFor('i-1'), instanceId: 'i-1', reason: 'RESOURCE:CPU' },
    ]);
    expect(out.desiredCount).toBe(2);
  });

  it('a deployment stops the old task on an instance before starting the new one there', () => {
    const olds = ['i-0', 'i-1', 'i-2'].map((i) => task(i, { deploymentId: 'ecs-svc/1' }));
    const first = scheduleDaemonService(daemon(), [primary(), old()], olds, hosts(3), OPTIONS);
    // minimumHealthyPercent 0 (the daemon default): every old task may stop at once, nothing starts yet.
    expect(first.stop.map((s) => s.taskArn)).toEqual(olds.map((t) => t.arn));
    expect(first.start).toBe(0);

    const stopping = olds.map((t) => ({ ...t, desiredStatus: 'STOPPED' }));
    expect(scheduleDaemonService(daemon(), [primary(), old()], stopping, hosts(3), OPTIONS).start).toBe(0);

    const stopped = olds.map((t) => ({ ...t, desiredStatus: 'STOPPED', lastStatus: 'STOPPED' }));
    const next = scheduleDaemonService(daemon(), [primary(), old()], stopped, hosts(3), OPTIONS);
    expect(next.startOn).toHaveLength(3);
    expect(next.finishedDeployments).toEqual(['ecs-svc/1']);
  });

  it('bounds the stops by minimumHealthyPercent over the instances (rounded up)', () => {
    const olds = ['i-0', 'i-1', 'i-2', 'i-3'].map((i) => task(i, { deploymentId: 'ecs-svc/1' }));
    const out = scheduleDaemonService(
      daemon({ minimumHealthyPercent: 50 }),
      [primary(), old()],
      olds,
      hosts(4),
      OPTIONS,
    );
    expect(out.stop).toHaveLength(2);
    // An old task that is not healthy counts toward nothing and stops at once.
    const sick = task('i-0', { deploymentId: 'ecs-svc/1', healthStatus: 'UNHEALTHY' });
    const withSick = scheduleDaemonService(
      daemon({ minimumHealthyPercent: 100 }),
      [primary(), old()],
      [sick, ...olds.slice(1)],
      hosts(4),
      OPTIONS,
    );
    expect(withSick.stop).toEqual([{ taskArn: sick.arn, why: 'replaced' }]);
  });

  it('is blocked when minimumHealthyPercent 100 forbids every stop', () => {
    const olds = ['i-0', 'i-1'].map((i) => task(i, { deploymentId: 'ecs-svc/1' }));
    const out = scheduleDaemonService(
      daemon({ minimumHealthyPercent: 100 }),
      [primary(), old()],
      olds,
      hosts(2),
      OPTIONS,
    );
    expect(out).toMatchObject({ start: 0, stop: [], blocked: true, steady: false });
  });

  it('replaces an UNHEALTHY task stop-first', () => {
    const sick = task('i-0', { healthStatus: 'UNHEALTHY' });
    const out = scheduleDaemonService(
      daemon(),
      [primary('ecs-svc/2', 'COMPLETED')],
      [sick],
      hosts(1),
      OPTIONS,
    );
    expect(out.stop).toEqual([{ taskArn: sick.arn, why: 'unhealthy' }]);
    expect(out.start).toBe(0);
  });

  it('stops everything when the service is deleted, and is INACTIVE once nothing is left', () => {
    const tasks = [task('i-0'), task('i-1')];
    const out = scheduleDaemonService(daemon({ status: 'DRAINING' }), [primary()], tasks, hosts(2), OPTIONS);
    expect(out.stop.map((s) => s.why)).toEqual(['service-deleted', 'service-deleted']);
    expect(out.serviceInactive).toBe(false);
    const done = scheduleDaemonService(daemon({ status: 'DRAINING' }), [primary()], [], hosts(2), OPTIONS);
    expect(done.serviceInactive).toBe(true);
  });

  it('asks to look again when a task turns healthy by age', () => {
    const young = task('i-0', { startedAtMs: NOW_MS - 1_000 });
    const out = scheduleDaemonService(daemon(), [primary()], [young], hosts(1), OPTIONS);
    expect(out.nextCheckAtMs).toBe(NOW_MS - 1_000 + HEALTHY_AFTER_MS);
    expect(out.steady).toBe(false);
  });

  it('never leaves two live tasks of the service on one instance, nor fewer healthy than the minimum (property)', () => {
    const stateArb = fc.record({
      instances: fc.integer({ min: 1, max: 6 }),
      minimumHealthyPercent: fc.integer({ min: 0, max: 100 }),
      tasks: fc.array(
        fc.record({
          instance: fc.integer({ min: 0, max: 7 }),
          deployment: fc.constantFrom('ecs-svc/1', 'ecs-svc/2'),
          lastStatus: fc.constantFrom('PENDING', 'RUNNING', 'STOPPED'),
          desiredStatus: fc.constantFrom('RUNNING', 'STOPPED'),
          health: fc.constantFrom(undefined, 'HEALTHY', 'UNHEALTHY'),
          draining: fc.boolean(),
        }),
        { maxLength: 12 },
      ),
    });
    fc.assert(
      fc.property(stateArb, (state) => {
        const instances = Array.from({ length: state.instances }, (_, i) =>
          aPlacementInstance(`i-${i}`, {
            status: i === 0 && state.tasks[0]?.draining ? 'DRAINING' : 'ACTIVE',
          }),
        );
        const tasks = state.tasks.map((t, n) => ({
          arn: `t-${n}`,
          deploymentId: t.deployment,
          instanceArn: instanceArnFor(`i-${t.instance}`),
          lastStatus: t.lastStatus,
          desiredStatus: t.lastStatus === 'STOPPED' ? 'STOPPED' : t.desiredStatus,
          startedAtMs: t.lastStatus === 'PENDING' ? null : NOW_MS - HEALTHY_AFTER_MS,
          healthStatus: t.health as SchedulerTask['healthStatus'],
        }));
        const out = scheduleDaemonService(
          daemon({ minimumHealthyPercent: state.minimumHealthyPercent }),
          [primary(), old()],
          tasks,
          instances,
          OPTIONS,
        );
        // Starts go only where nothing of the service is left, one each.
        const liveOn = new Set(tasks.filter((t) => t.lastStatus !== 'STOPPED').map((t) => t.instanceArn));
        expect(new Set(out.startOn).size).toBe(out.startOn.length);
        for (const arn of out.startOn) expect(liveOn.has(arn)).toBe(false);
        // Stop-first stops (a healthy old task on an instance with no current task) keep at least the
        // minimum of healthy tasks, counted after the stops no bound covers (draining, duplicates, sick).
        const kept = tasks.filter((t) => t.desiredStatus === 'RUNNING' && t.lastStatus !== 'STOPPED');
        const healthy = (t: (typeof tasks)[number]) =>
          t.lastStatus === 'RUNNING' && t.healthStatus !== 'UNHEALTHY';
        const active = new Set(instances.filter((i) => i.status === 'ACTIVE').map((i) => i.arn));
        const bounded = (t: (typeof tasks)[number]) =>
          healthy(t) &&
          t.deploymentId === 'ecs-svc/1' &&
          active.has(t.instanceArn) &&
          !kept.some((x) => x.instanceArn === t.instanceArn && x.deploymentId === 'ecs-svc/2');
        const stops = out.stop.map((s) => tasks.find((t) => t.arn === s.taskArn)!);
        const forced = new Set(stops.filter((t) => !bounded(t)).map((t) => t.arn));
        const baseline = kept.filter((t) => healthy(t) && !forced.has(t.arn)).length;
        const after = baseline - stops.filter(bounded).length;
        const minimum = Math.ceil((out.desiredCount * state.minimumHealthyPercent) / 100);
        expect(after).toBeGreaterThanOrEqual(Math.min(minimum, baseline));
      }),
      { numRuns: 500 },
    );
  });
});
