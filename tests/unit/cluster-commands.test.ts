/**
 * Cluster commands one at a time, against a test context (a real database and view, recorders for
 * the agent links): what each writes, what it tells agents, and what it refuses.
 */
import { eq } from 'drizzle-orm';
import { afterEach, describe, expect, it } from 'vitest';
import { containerInstances, tasks } from '../../db/schema';
import { CLOSE_CODES } from '../../protocol';
import { NamedDeadlines } from '../../worker/core/cluster/deadlines';
import { AGENT_GRACE, agentGraceExpired, agentLeft } from '../../worker/core/container-instances/agent-grace';
import { deregisterContainerInstance } from '../../worker/core/container-instances/deregister';
import { EcsError } from '../../worker/core/errors';
import { stopTask } from '../../worker/core/tasks/stop-task';
import { anInstanceRow, aTaskRow, instanceArnFor, TEST_NOW_MS, taskArnFor } from '../helpers/builders';
import { createTestCommandContext, type TestCommandContext } from '../helpers/command-context';

const running = (id: string) =>
  aTaskRow({ arn: taskArnFor(id), lastStatus: 'RUNNING', containerInstanceArn: instanceArnFor('i1') });

describe('cluster commands', () => {
  let test: TestCommandContext;
  afterEach(() => test?.close());

  describe('stopTask', () => {
    it('records the stop and sends the agent a stopTask with the next generation, once', async () => {
      test = await createTestCommandContext({ instances: [anInstanceRow('i1')], tasks: [running('t1')] });
      test.linked.add(instanceArnFor('i1'));

      const first = await stopTask(test.ctx, { task: 't1', reason: 'rolling back' });
      const again = await stopTask(test.ctx, { task: taskArnFor('t1') });

      expect(first.task.desiredStatus).toBe('STOPPED');
      expect(first.task.stopCode).toBe('UserInitiated');
      expect(again.task.stoppedReason).toBe('rolling back');
      expect(test.sent.map(({ frame }) => frame)).toEqual([
        expect.objectContaining({ type: 'stopTask', taskArn: taskArnFor('t1'), generation: 2 }),
      ]);
      const [row] = await test.deps.db
        .select()
        .from(tasks)
        .where(eq(tasks.arn, taskArnFor('t1')));
      expect(row.desiredStatus).toBe('STOPPED');
    });

    it('refuses a task ARN of another cluster even when its id exists here', async () => {
      test = await createTestCommandContext({ instances: [anInstanceRow('i1')], tasks: [running('t1')] });
      await expect(stopTask(test.ctx, { task: taskArnFor('t1', 'elsewhere') })).rejects.toMatchObject({
        errorName: 'InvalidParameterException',
      });
      expect(test.ctx.view.taskRows.get(taskArnFor('t1'))?.desiredStatus).toBe('RUNNING');
    });

    it('refuses a reason longer than ECS allows, naming the field', async () => {
      test = await createTestCommandContext({ instances: [anInstanceRow('i1')], tasks: [running('t1')] });
      await expect(stopTask(test.ctx, { task: 't1', reason: 'x'.repeat(256) })).rejects.toThrow(/^reason: /);
    });
  });

  describe('deregisterContainerInstance', () => {
    it('refuses an instance with active tasks unless forced, and changes nothing', async () => {
      test = await createTestCommandContext({ instances: [anInstanceRow('i1')], tasks: [running('t1')] });
      const refused = await deregisterContainerInstance(test.ctx, { containerInstance: 'i1' }).catch(
        (error: unknown) => error,
      );
      expect(refused).toBeInstanceOf(EcsError);
      expect((refused as EcsError).message).toMatch(/^containerInstance: it has 1 active tasks/);
      expect(test.ctx.view.instances.has(instanceArnFor('i1'))).toBe(true);
    });

    it('forced, stops its tasks, marks it INACTIVE and closes its agent with the deregistered code', async () => {
      test = await createTestCommandContext({ instances: [anInstanceRow('i1')], tasks: [running('t1')] });
      test.linked.add(instanceArnFor('i1'));

      const out = await deregisterContainerInstance(test.ctx, { containerInstance: 'i1', force: true });

      expect(out.containerInstance?.status).toBe('INACTIVE');
      expect(test.ctx.view.instances.has(instanceArnFor('i1'))).toBe(false);
      expect(test.disconnected).toEqual([
        { instanceArn: instanceArnFor('i1'), code: CLOSE_CODES.deregistered },
      ]);
      const [task] = await test.deps.db
        .select()
        .from(tasks)
        .where(eq(tasks.arn, taskArnFor('t1')));
      expect(task).toMatchObject({ lastStatus: 'STOPPED', stopCode: 'TaskFailedToStart' });
    });
  });

  describe('agent grace', () => {
    it('marks an instance disconnected only once its grace has passed with no socket', async () => {
      test = await createTestCommandContext({ instances: [anInstanceRow('i1')] });
      const arn = instanceArnFor('i1');
      await agentLeft(test.ctx, arn);
      const graceMs = test.deps.config.agentDisconnectGraceMs;
      expect(test.wakeUps).toContain(TEST_NOW_MS + graceMs);

      test.clock.nowMs = TEST_NOW_MS + graceMs - 1;
      await agentGraceExpired(test.ctx, arn);
      expect(test.ctx.view.instances.get(arn)?.row.agentConnected).toBe(true);

      test.clock.nowMs = TEST_NOW_MS + graceMs;
      await agentGraceExpired(test.ctx, arn);
      const [row] = await test.deps.db
        .select()
        .from(containerInstances)
        .where(eq(containerInstances.arn, arn));
      expect(row.agentConnected).toBe(false);
    });

    it('leaves an instance whose agent came back connected', async () => {
      test = await createTestCommandContext({ instances: [anInstanceRow('i1')] });
      test.linked.add(instanceArnFor('i1'));
      test.clock.nowMs = TEST_NOW_MS + 10 * test.deps.config.agentDisconnectGraceMs;
      await agentGraceExpired(test.ctx, instanceArnFor('i1'));
      expect(test.ctx.view.instances.get(instanceArnFor('i1'))?.row.agentConnected).toBe(true);
    });
  });

  describe('named deadlines', () => {
    it('keep a persisted deadline across a restart and forget it once taken', async () => {
      test = await createTestCommandContext({});
      await test.ctx.deadlines.schedule('deploymentStep', 'web', TEST_NOW_MS + 5_000, { persist: true });
      await test.ctx.deadlines.schedule(AGENT_GRACE, 'x', TEST_NOW_MS + 1_000);

      // A restarted control plane: a new registry over the same database.
      const wakeUps: number[] = [];
      const restarted = new NamedDeadlines(test.deps, () => test.ctx.cluster.arn, {
        wakeAt: (ms) => wakeUps.push(ms),
      });
      await restarted.load(test.ctx.cluster.arn);
      expect(wakeUps).toEqual([TEST_NOW_MS + 5_000]);
      expect(restarted.has(AGENT_GRACE, 'x')).toBe(false);

      expect(await restarted.takeDue(TEST_NOW_MS + 4_999)).toEqual([]);
      expect(await restarted.takeDue(TEST_NOW_MS + 5_000)).toEqual([{ kind: 'deploymentStep', key: 'web' }]);
      const again = new NamedDeadlines(test.deps, () => test.ctx.cluster.arn, { wakeAt: () => {} });
      await again.load(test.ctx.cluster.arn);
      expect(again.has('deploymentStep', 'web')).toBe(false);
    });

    it('ask the host for one wake-up at the earliest deadline', async () => {
      test = await createTestCommandContext({});
      await test.ctx.deadlines.schedule('a', '1', TEST_NOW_MS + 9_000);
      await test.ctx.deadlines.schedule('b', '2', TEST_NOW_MS + 3_000);
      await test.ctx.deadlines.cancel('b', '2');
      test.wakeUps.length = 0;
      test.ctx.deadlines.arm();
      expect(test.wakeUps).toEqual([TEST_NOW_MS + 9_000]);
    });
  });
});
