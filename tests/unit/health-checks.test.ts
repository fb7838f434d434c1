/**
 * Container health checks without Docker: the task definition's ranges and defaults, Docker's
 * HealthConfig, the event actions the agent follows, and how the control plane records and
 * aggregates health.
 */
import { describe, expect, it } from 'vitest';
import { dockerCreateOptions, dockerHealthConfig } from '../../agent/runtime/docker-config';
import { kindOf } from '../../agent/runtime/docker-events';
import type { HealthStatus, ObservedTask } from '../../protocol/agent-protocol';
import { EcsError } from '../../worker/core/errors';
import type { ContainerDefinition, TaskDefinition } from '../../worker/core/task-definitions/types';
import { validateTaskDefinitionInput } from '../../worker/core/task-definitions/validate';
import { healthCheckWithDefaults } from '../../worker/core/task-definitions/validate-health-check';
import { buildTaskShape } from '../../worker/core/tasks/build-task';
import { aggregateTaskHealth, taskHealthOf } from '../../worker/core/tasks/task-health';
import { toEcsTask } from '../../worker/core/tasks/task-record';
import { applyReport } from '../../worker/core/tasks/transitions';
import { aContainerRecord, aContainerSpec, aTaskRow, aTaskState } from '../helpers/builders';

const NOW = 1_700_000_000_000;
const SECOND_NS = 1_000_000_000;

const withHealthCheck = (healthCheck: ContainerDefinition['healthCheck']): ContainerDefinition => ({
  name: 'web',
  image: 'busybox',
  memory: 64,
  healthCheck,
});

function rejectionOf(healthCheck: ContainerDefinition['healthCheck']): EcsError {
  try {
    validateTaskDefinitionInput({ family: 'web', containerDefinitions: [withHealthCheck(healthCheck)] });
  } catch (error) {
    if (error instanceof EcsError) return error;
    throw error;
  }
  throw new Error('expected the health check to be rejected');
}

const accepts = (healthCheck: ContainerDefinition['healthCheck']) =>
  expect(() =>
    validateTaskDefinitionInput({ family: 'web', containerDefinitions: [withHealthCheck(healthCheck)] }),
  ).not.toThrow();

describe('a task definition health check', () => {
  it('accepts CMD and CMD-SHELL commands with every setting at the ends of its range', () => {
    accepts({ command: ['CMD', '/bin/check', '--quick'] });
    accepts({ command: ['CMD-SHELL', 'curl -f http://localhost/ || exit 1'] });
    accepts({ command: ['CMD', 'true'], interval: 5, timeout: 2, retries: 1, startPeriod: 0 });
    accepts({ command: ['CMD', 'true'], interval: 300, timeout: 60, retries: 10, startPeriod: 300 });
  });

  it.each([
    ['interval', 4, '5 to 300 seconds'],
    ['interval', 301, '5 to 300 seconds'],
    ['timeout', 1, '2 to 60 seconds'],
    ['timeout', 61, '2 to 60 seconds'],
    ['retries', 0, '1 to 10 retries'],
    ['retries', 11, '1 to 10 retries'],
    ['startPeriod', -1, '0 to 300 seconds'],
    ['startPeriod', 301, '0 to 300 seconds'],
  ])('rejects %s %i, naming the field', (field, value, range) => {
    const error = rejectionOf({ command: ['CMD', 'true'], [field]: value });
    expect(error.errorName).toBe('ClientException');
    expect(error.message).toContain(`containerDefinitions[0].healthCheck.${field}`);
    expect(error.message).toContain(range);
  });

  it('rejects a command that is not CMD or CMD-SHELL followed by what to run', () => {
    for (const command of [[], ['true'], ['CMD'], ['CMD', ''], ['CMD-SHELL', 'a', 'b'], ['NONE']]) {
      expect(rejectionOf({ command }).message).toContain('containerDefinitions[0].healthCheck.command');
    }
  });

  it("fills in ECS's defaults (interval 30, timeout 5, retries 3) and leaves the start period off", () => {
    expect(healthCheckWithDefaults({ command: ['CMD', 'true'] })).toEqual({
      command: ['CMD', 'true'],
      interval: 30,
      timeout: 5,
      retries: 3,
    });
    expect(healthCheckWithDefaults({ command: ['CMD', 'true'], interval: 7, startPeriod: 9 })).toMatchObject({
      interval: 7,
      startPeriod: 9,
    });
  });
});

describe('the health check on its way to Docker', () => {
  const definition = (healthCheck: ContainerDefinition['healthCheck']) =>
    ({
      family: 'web',
      revision: 1,
      networkMode: 'bridge',
      containerDefinitions: [withHealthCheck(healthCheck)],
    }) as TaskDefinition;

  it('reaches the agent spec in seconds, defaults included', () => {
    const [spec] = buildTaskShape(definition({ command: ['CMD', 'true'] }), {}).specs;
    expect(spec.healthCheck).toEqual({
      command: ['CMD', 'true'],
      intervalSeconds: 30,
      timeoutSeconds: 5,
      retries: 3,
      startPeriodSeconds: undefined,
    });
  });

  it('becomes an explicit HealthConfig in nanoseconds', () => {
    expect(
      dockerHealthConfig({
        command: ['CMD-SHELL', 'test -f /ok'],
        intervalSeconds: 30,
        timeoutSeconds: 5,
        retries: 3,
      }),
    ).toEqual({
      Test: ['CMD-SHELL', 'test -f /ok'],
      Interval: 30 * SECOND_NS,
      Timeout: 5 * SECOND_NS,
      Retries: 3,
      StartPeriod: 0,
    });
    expect(
      dockerHealthConfig({
        command: ['CMD', 'true'],
        intervalSeconds: 5,
        timeoutSeconds: 2,
        retries: 1,
        startPeriodSeconds: 10,
      }).StartPeriod,
    ).toBe(10 * SECOND_NS);
  });

  it('leaves a container without a health check without a HealthConfig', () => {
    const options = dockerCreateOptions({
      name: 'c',
      spec: aContainerSpec(),
      networkMode: 'bridge',
      labels: {},
      links: [],
      stopTimeoutSeconds: 30,
    });
    expect(options.Healthcheck).toBeUndefined();
  });

  it('follows health_status events and ignores the probes’ exec events', () => {
    expect(kindOf('health_status: healthy')).toBe('health');
    expect(kindOf('health_status: unhealthy')).toBe('health');
    expect(kindOf('exec_create: /bin/sh -c test -f /ok')).toBeUndefined();
    expect(kindOf('exec_die')).toBeUndefined();
    expect(kindOf('die')).toBe('die');
  });
});

const checked = (name: string, healthStatus: HealthStatus | undefined, essential = true) =>
  aContainerRecord({
    name,
    lastStatus: 'RUNNING',
    healthStatus,
    spec: aContainerSpec({ name, essential }),
  });

describe('task health', () => {
  it('ranks UNHEALTHY over UNKNOWN over HEALTHY among essential containers', () => {
    expect(aggregateTaskHealth([checked('a', 'UNHEALTHY'), checked('b', undefined)])).toBe('UNHEALTHY');
    expect(aggregateTaskHealth([checked('a', 'UNHEALTHY'), checked('b', 'HEALTHY')])).toBe('UNHEALTHY');
    expect(aggregateTaskHealth([checked('a', 'HEALTHY'), checked('b', 'UNKNOWN')])).toBe('UNKNOWN');
    expect(aggregateTaskHealth([checked('a', 'HEALTHY'), checked('b', undefined)])).toBe('UNKNOWN');
    expect(aggregateTaskHealth([checked('a', 'HEALTHY'), checked('b', 'HEALTHY')])).toBe('HEALTHY');
  });

  it('ignores non-essential containers, and a task without health checks stays UNKNOWN', () => {
    expect(aggregateTaskHealth([checked('a', 'HEALTHY'), checked('b', 'UNHEALTHY', false)])).toBe('HEALTHY');
    expect(aggregateTaskHealth([checked('a', undefined)])).toBe('UNKNOWN');
  });

  it('is shown in DescribeTasks on the task and each container', () => {
    const row = aTaskRow({ containers: [checked('a', 'HEALTHY'), checked('b', undefined, false)] });
    const task = toEcsTask(row, { tags: false });
    expect(task.healthStatus).toBe('HEALTHY');
    expect(task.containers?.map((c) => c.healthStatus)).toEqual(['HEALTHY', 'UNKNOWN']);
    expect(taskHealthOf(row)).toBe('HEALTHY');
  });
});

describe('applyReport with health', () => {
  const running = (healthStatus?: HealthStatus): ObservedTask => ({
    taskArn: 'arn:task/1',
    generation: 1,
    lastStatus: 'RUNNING',
    containers: [{ name: 'main', lastStatus: 'RUNNING', healthStatus }],
  });

  it('records health moving both ways, each change a new version', () => {
    const start = aTaskState({ lastStatus: 'RUNNING', containers: [checked('main', undefined)] });
    const healthy = applyReport(start, running('HEALTHY'), 1, NOW)!;
    expect(healthy.containers[0].healthStatus).toBe('HEALTHY');
    expect(healthy.version).toBe(start.version + 1);
    const unhealthy = applyReport(healthy, running('UNHEALTHY'), 2, NOW)!;
    expect(unhealthy.containers[0].healthStatus).toBe('UNHEALTHY');
    expect(unhealthy.version).toBe(healthy.version + 1);
    const again = applyReport(unhealthy, running('HEALTHY'), 3, NOW)!;
    expect(again.containers[0].healthStatus).toBe('HEALTHY');
  });

  it('changes no version for a report that repeats the health', () => {
    const healthy = aTaskState({
      lastStatus: 'RUNNING',
      reportSeq: 1,
      startedAtMs: NOW,
      containers: [checked('main', 'HEALTHY')],
    });
    expect(applyReport(healthy, running('HEALTHY'), 2, NOW)).toEqual({ ...healthy, reportSeq: 2 });
  });

  it('keeps the last health when a report does not carry one', () => {
    const healthy = aTaskState({ lastStatus: 'RUNNING', containers: [checked('main', 'HEALTHY')] });
    const next = applyReport(healthy, running(undefined), 1, NOW) ?? healthy;
    expect(next.containers[0].healthStatus).toBe('HEALTHY');
  });

  it('keeps a stopped container’s last health for good', () => {
    const stopped = aTaskState({
      lastStatus: 'RUNNING',
      containers: [aContainerRecord({ name: 'main', lastStatus: 'STOPPED', healthStatus: 'UNHEALTHY' })],
    });
    const next = applyReport(stopped, running('HEALTHY'), 1, NOW) ?? stopped;
    expect(next.containers[0].healthStatus).toBe('UNHEALTHY');
  });
});
