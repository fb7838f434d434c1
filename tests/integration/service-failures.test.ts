/**
 * The circuit breaker and the failed-start back-off inside one cluster command context: a real
 * libSQL database and view, a clock the test moves, and tasks failed the way the control plane
 * records a task that never started. Deterministic where the end-to-end scenario measures time.
 */
import { and, eq } from 'drizzle-orm';
import { afterEach, describe, expect, it } from 'vitest';
import { clusterDeadlines, serviceDeployments, type TaskRow } from '../../db/schema';
import { DEFAULT_THROTTLE_BASE_MS } from '../../worker/core/services/circuit-breaker';
import { createService } from '../../worker/core/services/create-service';
import {
  DEPLOYMENT_WATCH_MS,
  reconcileServices,
  SERVICE_STEP,
  serviceStepDue,
} from '../../worker/core/services/reconcile';
import { describeServices } from '../../worker/core/services/service-queries';
import { stopServiceDeployment } from '../../worker/core/services/stop-service-deployment';
import { updateService } from '../../worker/core/services/update-service';
import { registerTaskDefinition } from '../../worker/core/task-definitions/task-definitions';
import { taskStateOf } from '../../worker/core/tasks/task-record';
import { applyReport, stopWithoutAgent } from '../../worker/core/tasks/transitions';
import { anInstanceRow, instanceArnFor } from '../helpers/builders';
import { createTestCommandContext, type TestCommandContext } from '../helpers/command-context';

describe('failing service tasks', () => {
  let test: TestCommandContext;
  afterEach(() => test?.close());

  async function setUp() {
    test = await createTestCommandContext({ instances: [anInstanceRow('i1')] });
    test.linked.add(instanceArnFor('i1'));
    // Deployment ids are drawn from `random`: the context's fixed 0 would give every one the same id.
    test.ctx = { ...test.ctx, random: Math.random };
    const definitions: string[] = [];
    for (const image of ['web:1', 'web:2']) {
      const out = await registerTaskDefinition(test.deps, {
        family: 'web',
        containerDefinitions: [{ name: 'main', image, cpu: 16, memory: 16, essential: true }],
      });
      definitions.push(out.taskDefinition!.taskDefinitionArn!);
    }
    return definitions;
  }

  const liveTasks = (name = 'web'): TaskRow[] =>
    [...test.ctx.view.taskRows.values()].filter((t) => t.group === `service:${name}`);

  /** Records each live task of the service as stopped before it ever ran, then runs the scheduler. */
  async function failLiveTasks(name = 'web') {
    for (const row of liveTasks(name)) {
      await test.ctx.saveTask(
        row,
        stopWithoutAgent(taskStateOf(row), 'TaskFailedToStart', 'CannotPullContainerError', test.clock.nowMs),
      );
    }
    test.clock.nowMs += 1;
    await reconcileServices(test.ctx, [name]);
  }

  /** Reports each live task RUNNING (as its agent would) and runs the scheduler. */
  async function runLiveTasks(name = 'web') {
    for (const row of liveTasks(name)) {
      const observed = { taskArn: row.arn, generation: 1, lastStatus: 'RUNNING' as const, containers: [] };
      const next = applyReport(taskStateOf(row), observed, row.reportSeq + 1, test.clock.nowMs);
      if (next) await test.ctx.saveTask(row, next);
    }
    await reconcileServices(test.ctx, [name]);
  }

  const stepDueAt = async () =>
    (
      await test.deps.db
        .select()
        .from(clusterDeadlines)
        .where(
          and(
            eq(clusterDeadlines.clusterArn, test.ctx.cluster.arn),
            eq(clusterDeadlines.name, `${SERVICE_STEP}:web`),
          ),
        )
    )[0]?.dueAtMs;

  const service = async () =>
    (await describeServices(test.deps, { cluster: 'default', services: ['web'] })).services![0];

  it('backs off launches, doubling, on the persisted serviceStep deadline, and resets on a new definition', async () => {
    const [good, crashing] = await setUp();
    await createService(test.ctx, { serviceName: 'web', taskDefinition: crashing, desiredCount: 1 });
    expect(liveTasks()).toHaveLength(1);

    for (const n of [1, 2, 3, 4]) {
      await failLiveTasks();
      const failedAt = test.clock.nowMs - 1;
      // Nothing launched; the step deadline, in the database, is the back-off's end (base × 2^(n−1)
      // after the failure) or, when that is later, the 30 s watch of a deployment in progress.
      const launchAtMs = failedAt + DEFAULT_THROTTLE_BASE_MS * 2 ** (n - 1);
      expect(liveTasks()).toHaveLength(0);
      expect(await stepDueAt()).toBe(Math.min(launchAtMs, test.clock.nowMs + DEPLOYMENT_WATCH_MS));
      // Just before the back-off's end: still nothing.
      test.clock.nowMs = launchAtMs - 1;
      await serviceStepDue(test.ctx, 'web');
      expect(liveTasks()).toHaveLength(0);
      test.clock.nowMs += 1;
      await serviceStepDue(test.ctx, 'web');
      expect(liveTasks()).toHaveLength(1);
    }
    const messages = (await service()).events!.map((e) => e.message);
    expect(messages).toContain('(service web) operations are being throttled. Will try again later.');
    expect(messages).toContain('(service web) is unable to consistently start tasks successfully.');

    // The back-off is state in the database: running the scheduler again (as a restarted room
    // does) launches nothing early and keeps the deadline.
    await failLiveTasks();
    const due = await stepDueAt();
    expect(due).toBe(test.clock.nowMs + DEPLOYMENT_WATCH_MS);
    await reconcileServices(test.ctx, ['web']);
    expect(liveTasks()).toHaveLength(0);
    expect(await stepDueAt()).toBe(due);

    // A new task definition resets it: the task starts at once.
    await updateService(test.ctx, { service: 'web', taskDefinition: good });
    expect(liveTasks()).toHaveLength(1);
  });

  it('trips the breaker at the threshold, rolls back on the same revision, and adopts its tasks', async () => {
    const [good, bad] = await setUp();
    await createService(test.ctx, {
      serviceName: 'web',
      taskDefinition: good,
      desiredCount: 2,
      deploymentConfiguration: { deploymentCircuitBreaker: { enable: true, rollback: true } },
    });
    await runLiveTasks();
    test.clock.nowMs += 60_000;
    await reconcileServices(test.ctx, ['web']);
    const [first] = (await service()).deployments!;
    expect(first.rolloutState).toBe('COMPLETED');
    const oldTasks = liveTasks().map((t) => t.arn);

    await updateService(test.ctx, { service: 'web', taskDefinition: bad });
    await failLiveTasksOf(bad);
    let current = await service();
    expect(current.deployments!.find((d) => d.status === 'PRIMARY')).toMatchObject({
      taskDefinition: bad,
      failedTasks: 2,
      rolloutState: 'IN_PROGRESS',
    });
    // The third failure reaches the threshold (3 for 2 tasks).
    test.clock.nowMs += 10 * DEFAULT_THROTTLE_BASE_MS;
    await serviceStepDue(test.ctx, 'web');
    await failLiveTasksOf(bad);
    current = await service();
    expect(current.taskDefinition).toBe(good);
    expect(current.deployments!.map((d) => [d.status, d.taskDefinition, d.rolloutState])).toEqual([
      ['PRIMARY', good, 'COMPLETED'],
    ]);
    // The old tasks were kept (adopted by the rollback's deployment), none was started again.
    expect(liveTasks().map((t) => t.arn)).toEqual(oldTasks);
    const rows = await test.deps.db.select().from(serviceDeployments);
    const failed = rows.find((d) => d.taskDefinitionArn === bad)!;
    expect(failed).toMatchObject({
      rolloutState: 'FAILED',
      rolloutStateReason: 'ECS deployment circuit breaker: tasks failed to start.',
      outcome: 'ROLLBACK_SUCCESSFUL',
    });
    expect(failed.failedTasks).toBeGreaterThanOrEqual(3);
    const rollback = rows.find((d) => d.rollbackOf === failed.id)!;
    expect(rollback.revisionId).toBe(first.id);

    // A finished deployment cannot be stopped.
    const arn = `arn:aws:ecs:us-east-1:000000000000:service-deployment/default/web/${failed.id.slice(8)}`;
    await expect(stopServiceDeployment(test.ctx, { serviceDeploymentArn: arn })).rejects.toMatchObject({
      errorName: 'ConflictException',
    });
  });

  async function failLiveTasksOf(definition: string) {
    for (const row of liveTasks().filter((t) => t.taskDefinitionArn === definition)) {
      await test.ctx.saveTask(
        row,
        stopWithoutAgent(taskStateOf(row), 'TaskFailedToStart', 'CannotPullContainerError', test.clock.nowMs),
      );
    }
    test.clock.nowMs += 1;
    await reconcileServices(test.ctx, ['web']);
  }
});
