/**
 * What one step of a service's scheduler costs the database, against a test context (a real libSQL
 * file and view, recorders for the agent links): a rolling step commits once however many tasks it
 * stops, agents hear of it only after that commit, a look-again deadline already due sooner is not
 * rewritten, and reports that change nothing the scheduler reads do not run it.
 */
import { eq } from 'drizzle-orm';
import { afterEach, describe, expect, it } from 'vitest';
import { clusterDeadlines, type TaskRow } from '../../db/schema';
import { createService } from '../../worker/core/services/create-service';
import { reconcileService, SERVICE_STEP, serviceTasksInView } from '../../worker/core/services/reconcile';
import { schedulerInputsChanged } from '../../worker/core/services/scheduler-inputs';
import { updateService } from '../../worker/core/services/update-service';
import { registerTaskDefinition } from '../../worker/core/task-definitions/task-definitions';
import { recordReports } from '../../worker/core/tasks/record-reports';
import {
  aContainerRecord,
  anInstanceRow,
  anObservedTask,
  aTaskRow,
  instanceArnFor,
} from '../helpers/builders';
import { createTestCommandContext, type TestCommandContext } from '../helpers/command-context';

/** ECS counts a task without a health check as healthy this long after RUNNING. */
const HEALTHY_BY_AGE_MS = 40_000;

/** Counts the database's commits: every batch, and every write statement run on its own. */
function countCommits(test: TestCommandContext) {
  const { client } = test;
  const commits: string[] = [];
  const { batch, execute } = client;
  client.batch = ((...args: Parameters<typeof batch>) => {
    commits.push('batch');
    return batch.apply(client, args);
  }) as typeof batch;
  client.execute = ((...args: Parameters<typeof execute>) => {
    // execute takes a string or a { sql, args } statement (its overloads hide the second from Parameters).
    const [statement] = args as unknown as [string | { sql: string }];
    const text = typeof statement === 'string' ? statement : statement.sql;
    if (/^\s*(insert|update|delete)/i.test(text)) commits.push(text.slice(0, 40));
    return execute.apply(client, args);
  }) as typeof execute;
  return commits;
}

describe('a service scheduler step', () => {
  let test: TestCommandContext;
  afterEach(() => test?.close());

  /** Three tasks of web:1 running and healthy, then an update to web:2 whose three tasks now run too. */
  async function midRollout() {
    test = await createTestCommandContext({ instances: [anInstanceRow('i1')] });
    test.linked.add(instanceArnFor('i1'));
    // Deployment ids are drawn from `random`: a sequence, so the second deployment gets an id of its own.
    let draws = 0;
    test.ctx = { ...test.ctx, random: () => (draws++ % 89) / 89 };
    const { ctx, deps, clock } = test;
    for (let i = 0; i < 2; i++) {
      await registerTaskDefinition(deps, {
        family: 'web',
        containerDefinitions: [{ name: 'main', image: 'busybox', memory: 16 }],
      });
    }
    await createService(ctx, {
      serviceName: 'web',
      taskDefinition: 'web:1',
      desiredCount: 3,
      deploymentConfiguration: { minimumHealthyPercent: 100, maximumPercent: 200 },
    });
    const reportRunning = async (rows: TaskRow[]) => {
      await recordReports(
        deps,
        ctx.view,
        rows.map((row) => ({
          instanceArn: instanceArnFor('i1'),
          seq: 1,
          task: anObservedTask('RUNNING', { taskArn: row.arn }),
        })),
      );
      clock.nowMs += HEALTHY_BY_AGE_MS;
    };
    const old = serviceTasksInView(ctx, 'web');
    await reportRunning(old);
    await reconcileService(ctx, 'web');
    await updateService(ctx, { service: 'web', taskDefinition: 'web:2' });
    const oldArns = new Set(old.map((row) => row.arn));
    const fresh = serviceTasksInView(ctx, 'web').filter((row) => !oldArns.has(row.arn));
    expect(fresh).toHaveLength(3);
    await reportRunning(fresh);
    return { old, fresh };
  }

  it('stops every old task it may in one commit, and tells the agents only once it is durable', async () => {
    const { old } = await midRollout();
    const commits = countCommits(test);
    const sentBefore = test.sent.length;
    let sentAtCommit: number | undefined;
    const { batch } = test.client;
    test.client.batch = ((...args: Parameters<typeof batch>) => {
      sentAtCommit ??= test.sent.length;
      return batch(...args);
    }) as typeof batch;

    await reconcileService(test.ctx, 'web');

    expect(commits).toEqual(['batch']);
    expect(sentAtCommit).toBe(sentBefore);
    const stops = test.sent.slice(sentBefore).map(({ frame }) => frame);
    expect(stops.map((frame) => frame.type === 'stopTask' && frame.taskArn).sort()).toEqual(
      old.map((row) => row.arn).sort(),
    );
    for (const row of old) expect(test.ctx.view.taskRows.get(row.arn)?.desiredStatus).toBe('STOPPED');
  });

  it('keeps a look-again deadline that is already due sooner, without rewriting it', async () => {
    await midRollout();
    const due = async () =>
      (
        await test.deps.db
          .select()
          .from(clusterDeadlines)
          .where(eq(clusterDeadlines.name, `${SERVICE_STEP}:web`))
      )[0]?.dueAtMs;
    const before = await due();
    expect(before).toBeDefined();
    test.clock.nowMs += 1_000;

    await reconcileService(test.ctx, 'web');

    expect(await due()).toBe(before);
    // One due later than what is needed is moved earlier.
    await test.ctx.deadlines.schedule(SERVICE_STEP, 'web', test.clock.nowMs + 3_600_000, { persist: true });
    await reconcileService(test.ctx, 'web');
    expect(await due()).toBeLessThan(test.clock.nowMs + 3_600_000);
  });
});

describe('which task changes the scheduler reads', () => {
  const running = aTaskRow({ lastStatus: 'RUNNING', startedAtMs: 1_000, pullStartedAtMs: 10 });

  it('ignores pull times and container ids', () => {
    expect(schedulerInputsChanged(running, { ...running, pullStoppedAtMs: 20, reportSeq: 9 })).toBe(false);
    const withRuntimeId = JSON.stringify([aContainerRecord({ runtimeId: 'abc' })]);
    expect(schedulerInputsChanged(running, { ...running, containersJson: withRuntimeId })).toBe(false);
  });

  it('sees status, desired status, start time, instance, deployment and health', () => {
    const unhealthy = JSON.stringify([aContainerRecord({ healthStatus: 'UNHEALTHY' })]);
    for (const change of [
      { lastStatus: 'STOPPED' },
      { desiredStatus: 'STOPPED' },
      { startedAtMs: 2_000 },
      { containerInstanceArn: instanceArnFor('i2') },
      { startedBy: 'ecs-svc/2' },
      { containersJson: unhealthy },
    ] satisfies Partial<TaskRow>[]) {
      expect(schedulerInputsChanged(running, { ...running, ...change }), JSON.stringify(change)).toBe(true);
    }
  });
});
