/**
 * The agent's task controller on the simulated container runtime (agent/runtime/simulated-runtime.ts):
 * start order, the task's observed status, an essential container's exit, and stops, without
 * Docker. The runtime's events are wired to the controller the way the task registry wires them.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { SimulatedRuntime, STOPPED_EXIT_CODE } from '../../agent/runtime/simulated-runtime';
import type { PersistedTask } from '../../agent/state/state-file';
import { runtimeNameOf } from '../../agent/tasks/naming';
import { TaskController } from '../../agent/tasks/task-controller';
import type { ContainerSpec, DesiredTask } from '../../protocol';
import { aContainerSpec, taskArnFor } from '../helpers/builders';
import { waitFor } from '../helpers/wait';

const TASK_ARN = taskArnFor('0123456789abcdef0123456789abcdef');

function aDesiredTask(containers: ContainerSpec[]): DesiredTask {
  return {
    taskArn: TASK_ARN,
    generation: 1,
    desiredStatus: 'RUNNING',
    family: 'web',
    revision: 1,
    networkMode: 'bridge',
    containers,
  };
}

function aRecord(spec: DesiredTask): PersistedTask {
  return {
    taskArn: spec.taskArn,
    generation: spec.generation,
    desiredStatus: 'RUNNING',
    spec,
    seq: 0,
    observed: { taskArn: spec.taskArn, generation: spec.generation, lastStatus: 'PENDING', containers: [] },
  };
}

describe('the task controller on the simulated runtime', () => {
  let watcher: { close(): void } | undefined;
  afterEach(() => watcher?.close());

  function startController(containers: ContainerSpec[]) {
    const runtime = new SimulatedRuntime();
    const started: string[] = [];
    const controller = new TaskController(aRecord(aDesiredTask(containers)), {
      runtime,
      cluster: 'default',
      instanceId: () => 'i1',
      now: Date.now,
      log: () => {},
      onChange: () => {},
    });
    watcher = runtime.watch(
      {},
      {
        onResync: () => {},
        onContainerEvent: async (id, kind) => {
          const state = await runtime.inspectContainer(id);
          if (!state) return;
          if (kind === 'start') started.push(state.name);
          controller.observe(state);
        },
        onDisconnect: () => {},
      },
    );
    controller.adoptSpec();
    controller.reevaluate();
    return { runtime, controller, started, observed: controller.record.observed };
  }

  it('starts a container only after the one it depends on, and reports RUNNING once all run', async () => {
    const { started, observed } = startController([
      aContainerSpec({ name: 'app', dependsOn: [{ containerName: 'db', condition: 'START' }] }),
      aContainerSpec({ name: 'db' }),
    ]);
    await waitFor('the task to run', () => observed.lastStatus === 'RUNNING');
    expect(started).toEqual([runtimeNameOf(TASK_ARN, 'db'), runtimeNameOf(TASK_ARN, 'app')]);
    expect(observed.containers.map((c) => c.lastStatus)).toEqual(['RUNNING', 'RUNNING']);
  });

  it('stops the task with EssentialContainerExited and the exit code when its essential container exits', async () => {
    const { runtime, observed } = startController([
      aContainerSpec({ name: 'app' }),
      aContainerSpec({ name: 'sidecar', essential: false }),
    ]);
    await waitFor('the task to run', () => observed.lastStatus === 'RUNNING');
    runtime.exitContainer(runtimeNameOf(TASK_ARN, 'app'), 3);
    await waitFor('the task to stop', () => observed.lastStatus === 'STOPPED');
    expect(observed.stopCode).toBe('EssentialContainerExited');
    const byName = Object.fromEntries(observed.containers.map((c) => [c.name, c]));
    expect(byName.app).toMatchObject({ lastStatus: 'STOPPED', exitCode: 3 });
    expect(byName.sidecar).toMatchObject({ lastStatus: 'STOPPED', exitCode: STOPPED_EXIT_CODE });
    expect(runtime.runningCount()).toBe(0);
  });

  it('keeps the task running when a non-essential container exits', async () => {
    const { runtime, observed } = startController([
      aContainerSpec({ name: 'app' }),
      aContainerSpec({ name: 'migrate', essential: false }),
    ]);
    await waitFor('the task to run', () => observed.lastStatus === 'RUNNING');
    runtime.exitContainer(runtimeNameOf(TASK_ARN, 'migrate'), 0);
    await waitFor('the exit to be observed', () =>
      observed.containers.some((c) => c.name === 'migrate' && c.lastStatus === 'STOPPED'),
    );
    expect(observed.lastStatus).toBe('RUNNING');
  });

  it('stops every container on stop, and a second stop changes nothing', async () => {
    const { runtime, controller, observed } = startController([aContainerSpec({ name: 'app' })]);
    await waitFor('the task to run', () => observed.lastStatus === 'RUNNING');
    await controller.stop({ reason: 'Task stopped by user' });
    await waitFor('the task to stop', () => observed.lastStatus === 'STOPPED');
    const before = JSON.stringify(observed);
    await controller.stop({ reason: 'again' });
    expect(JSON.stringify(observed)).toBe(before);
    expect(observed.containers[0]).toMatchObject({ lastStatus: 'STOPPED', exitCode: STOPPED_EXIT_CODE });
    expect(runtime.runningCount()).toBe(0);
  });
});
