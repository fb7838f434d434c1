/**
 * The agent's health reporting on the simulated runtime: Docker's verdicts become the observed
 * container's healthStatus (each one a change the registry reports), and `dependsOn: HEALTHY`
 * holds a container back until its dependency is healthy, failing the task if it turns unhealthy.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { SimulatedRuntime } from '../../agent/runtime/simulated-runtime';
import type { PersistedTask } from '../../agent/state/state-file';
import { runtimeNameOf } from '../../agent/tasks/naming';
import { TaskController } from '../../agent/tasks/task-controller';
import type { ContainerSpec, DesiredTask, HealthCheckSpec } from '../../protocol';
import { aContainerSpec, taskArnFor } from '../helpers/builders';
import { waitFor } from '../helpers/wait';

const TASK_ARN = taskArnFor('fedcba9876543210fedcba9876543210');
const HEALTH_CHECK: HealthCheckSpec = {
  command: ['CMD-SHELL', 'test -f /tmp/ok'],
  intervalSeconds: 5,
  timeoutSeconds: 2,
  retries: 1,
};

function aRecord(containers: ContainerSpec[]): PersistedTask {
  const spec: DesiredTask = {
    taskArn: TASK_ARN,
    generation: 1,
    desiredStatus: 'RUNNING',
    family: 'web',
    revision: 1,
    networkMode: 'bridge',
    containers,
  };
  return {
    taskArn: TASK_ARN,
    generation: 1,
    desiredStatus: 'RUNNING',
    spec,
    seq: 0,
    observed: { taskArn: TASK_ARN, generation: 1, lastStatus: 'PENDING', containers: [] },
  };
}

describe('container health on the simulated runtime', () => {
  let watcher: { close(): void } | undefined;
  afterEach(() => watcher?.close());

  function startController(containers: ContainerSpec[], runtime = new SimulatedRuntime()) {
    const started: string[] = [];
    /** The observed health of `app` at every change, as the registry would report it. */
    const reportedHealth: (string | undefined)[] = [];
    const controller = new TaskController(aRecord(containers), {
      runtime,
      cluster: 'default',
      instanceId: () => 'i1',
      now: Date.now,
      log: () => {},
      onChange: (task) => {
        const health = task.record.observed.containers.find((c) => c.name === 'app')?.healthStatus;
        if (reportedHealth.at(-1) !== health) reportedHealth.push(health);
      },
    });
    watcher = runtime.watch(
      {},
      {
        onResync: () => {},
        onContainerEvent: async (id, kind) => {
          const state = await runtime.inspectContainer(id);
          if (!state) return;
          if (kind === 'start') started.push(state.name.slice(state.name.lastIndexOf('-') + 1));
          controller.observe(state);
        },
        onDisconnect: () => {},
      },
    );
    controller.adoptSpec();
    // As after an agent restart: what the engine already holds is observed before acting.
    void runtime.listContainers({}).then((states) => {
      controller.observeInventory(states);
      controller.reevaluate();
    });
    const observed = controller.record.observed;
    const healthOf = (name: string) => observed.containers.find((c) => c.name === name)?.healthStatus;
    const setHealth = (name: string, health: 'healthy' | 'unhealthy') =>
      runtime.setHealth(runtimeNameOf(TASK_ARN, name), health);
    return { runtime, started, observed, healthOf, setHealth, reportedHealth };
  }

  it('reports UNKNOWN while the check is starting, then each verdict as Docker changes it', async () => {
    const { observed, healthOf, setHealth, reportedHealth } = startController([
      aContainerSpec({ name: 'app', healthCheck: HEALTH_CHECK }),
    ]);
    await waitFor('the task to run', () => observed.lastStatus === 'RUNNING');
    expect(healthOf('app')).toBe('UNKNOWN');
    setHealth('app', 'healthy');
    await waitFor('app to be healthy', () => healthOf('app') === 'HEALTHY');
    setHealth('app', 'unhealthy');
    await waitFor('app to be unhealthy', () => healthOf('app') === 'UNHEALTHY');
    // An unhealthy container keeps running: ECS leaves a standalone task alone.
    expect(observed.lastStatus).toBe('RUNNING');
    expect(reportedHealth.filter((h) => h !== undefined)).toEqual(['UNKNOWN', 'HEALTHY', 'UNHEALTHY']);
  });

  it('reports no health for a container without a health check', async () => {
    const { observed, healthOf } = startController([aContainerSpec({ name: 'app' })]);
    await waitFor('the task to run', () => observed.lastStatus === 'RUNNING');
    expect(healthOf('app')).toBeUndefined();
  });

  it('starts a HEALTHY dependent only once its dependency is healthy', async () => {
    const { observed, started, setHealth } = startController([
      aContainerSpec({ name: 'web', dependsOn: [{ containerName: 'app', condition: 'HEALTHY' }] }),
      aContainerSpec({ name: 'app', healthCheck: HEALTH_CHECK }),
    ]);
    await waitFor('app to start', () => started.includes('app'));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(started).toEqual(['app']);
    expect(observed.lastStatus).toBe('PENDING');
    setHealth('app', 'healthy');
    await waitFor('the task to run', () => observed.lastStatus === 'RUNNING');
    expect(started).toEqual(['app', 'web']);
  });

  it('fails the task when a HEALTHY dependency turns unhealthy before its dependent started', async () => {
    const { observed, started, setHealth } = startController([
      aContainerSpec({ name: 'web', dependsOn: [{ containerName: 'app', condition: 'HEALTHY' }] }),
      aContainerSpec({ name: 'app', healthCheck: HEALTH_CHECK }),
    ]);
    await waitFor('app to start', () => started.includes('app'));
    setHealth('app', 'unhealthy');
    await waitFor('the task to stop', () => observed.lastStatus === 'STOPPED');
    expect(observed.stopCode).toBe('TaskFailedToStart');
    expect(observed.stoppedReason).toBe('dependency app is unhealthy');
    expect(started).toEqual(['app']);
  });

  it('fails the task when a HEALTHY dependency exits before it was healthy', async () => {
    const { runtime, observed, started } = startController([
      aContainerSpec({ name: 'web', dependsOn: [{ containerName: 'app', condition: 'HEALTHY' }] }),
      aContainerSpec({ name: 'app', essential: false, healthCheck: HEALTH_CHECK }),
    ]);
    await waitFor('app to start', () => started.includes('app'));
    runtime.exitContainer(runtimeNameOf(TASK_ARN, 'app'), 1);
    await waitFor('the task to stop', () => observed.lastStatus === 'STOPPED');
    expect(observed.stopCode).toBe('TaskFailedToStart');
    expect(observed.stoppedReason).toBe('dependency app exited with code 1 before it was healthy');
  });

  it('does not fail a task found again after a restart when its HEALTHY dependency is unhealthy now', async () => {
    const containers = [
      aContainerSpec({
        name: 'migrate',
        essential: false,
        dependsOn: [{ containerName: 'app', condition: 'HEALTHY' }],
      }),
      aContainerSpec({ name: 'app', healthCheck: HEALTH_CHECK }),
      aContainerSpec({ name: 'web', dependsOn: [{ containerName: 'migrate', condition: 'COMPLETE' }] }),
    ];
    const first = startController(containers);
    await waitFor('app to start', () => first.started.includes('app'));
    first.setHealth('app', 'healthy');
    await waitFor('migrate to start', () => first.started.includes('migrate'));
    // The agent goes away; meanwhile app turns unhealthy and migrate completes.
    watcher?.close();
    first.setHealth('app', 'unhealthy');
    first.runtime.exitContainer(runtimeNameOf(TASK_ARN, 'migrate'), 0);

    const again = startController(containers, first.runtime);
    await waitFor('the task to run', () => again.observed.lastStatus === 'RUNNING');
    expect(again.started).toEqual(['web']);
    expect(again.healthOf('app')).toBe('UNHEALTHY');
  });

  it('reports the health of a container found running before its task’s spec arrived', async () => {
    const containers = [aContainerSpec({ name: 'app', healthCheck: HEALTH_CHECK })];
    const first = startController(containers);
    await waitFor('app to start', () => first.started.includes('app'));
    first.setHealth('app', 'healthy');
    watcher?.close();

    // As for containers adopted from their labels alone: observed first, the spec comes with the welcome.
    const record = aRecord(containers);
    const spec = record.spec;
    record.spec = undefined;
    const adopted = new TaskController(record, {
      runtime: first.runtime,
      cluster: 'default',
      instanceId: () => 'i1',
      now: Date.now,
      log: () => {},
      onChange: () => {},
    });
    adopted.observeInventory(await first.runtime.listContainers({}));
    expect(record.observed.containers[0].healthStatus).toBeUndefined();
    record.spec = spec;
    adopted.adoptSpec();
    expect(record.observed.containers[0]).toMatchObject({ lastStatus: 'RUNNING', healthStatus: 'HEALTHY' });
  });
});
