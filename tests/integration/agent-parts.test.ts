/**
 * The agent's pure parts, without Docker or a control plane: options, backoff, the state file,
 * the Docker create options and the dependency rules.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseAgentOptions } from '../../agent';
import { Backoff } from '../../agent/backoff';
import { agentSocketUrl } from '../../agent/options';
import { dockerCreateOptions, networkBindingsOf } from '../../agent/runtime/docker-config';
import type { ContainerState, CreateContainerRequest } from '../../agent/runtime/types';
import { StateStore } from '../../agent/state/state-file';
import { creationOrder, dependenciesSatisfied, TaskStartFailure } from '../../agent/tasks/dependencies';
import { runtimeNameOf } from '../../agent/tasks/naming';
import { AGENT_CONNECT_PATH } from '../../protocol/link';
import { buildContainer } from '../helpers/fake-control-plane';

const REQUIRED = ['--endpoint', 'http://cp:8787', '--cluster', 'prod', '--join-token', 'secret'];

describe('parseAgentOptions', () => {
  it('reads flags, with repeated attributes and numbers', () => {
    const options = parseAgentOptions(
      [...REQUIRED, '--attribute', 'zone=a', '--attribute=disk=ssd', '--cpu', '2048', '--memory', '1500'],
      {},
    );
    expect(options).toEqual({
      endpoint: 'http://cp:8787',
      cluster: 'prod',
      joinToken: 'secret',
      attributes: [
        { name: 'zone', value: 'a' },
        { name: 'disk', value: 'ssd' },
      ],
      cpu: 2048,
      memoryMiB: 1500,
      stateDir: './.berth/agent',
    });
  });

  it('falls back to the BERTH_* environment variables', () => {
    const options = parseAgentOptions([], {
      BERTH_ENDPOINT: 'https://cp.example.com',
      BERTH_CLUSTER: 'edge',
      BERTH_JOIN_TOKEN: 'from-env',
      BERTH_AGENT_ATTRIBUTES: 'zone=b, gpu=none',
      BERTH_AGENT_CPU: '1024',
      BERTH_AGENT_MEMORY: '512',
      BERTH_AGENT_STATE_DIR: '/var/lib/berth',
    });
    expect(options).toMatchObject({
      endpoint: 'https://cp.example.com',
      cluster: 'edge',
      joinToken: 'from-env',
      attributes: [
        { name: 'zone', value: 'b' },
        { name: 'gpu', value: 'none' },
      ],
      cpu: 1024,
      memoryMiB: 512,
      stateDir: '/var/lib/berth',
    });
  });

  it('names the missing or malformed option', () => {
    expect(() => parseAgentOptions(['--cluster', 'prod', '--join-token', 't'], {})).toThrow(
      /--endpoint.*BERTH_ENDPOINT/,
    );
    expect(() => parseAgentOptions(['--endpoint', 'http://cp', '--join-token', 't'], {})).toThrow(
      /--cluster/,
    );
    expect(() => parseAgentOptions(['--endpoint', 'http://cp', '--cluster', 'c'], {})).toThrow(
      /--join-token/,
    );
    expect(() => parseAgentOptions([...REQUIRED, '--cpu', 'many'], {})).toThrow(
      /--cpu must be a positive integer/,
    );
    expect(() => parseAgentOptions([...REQUIRED, '--colour', 'blue'], {})).toThrow(/unknown option --colour/);
    expect(() =>
      parseAgentOptions(['--endpoint', 'ftp://cp', '--cluster', 'c', '--join-token', 't'], {}),
    ).toThrow(/--endpoint must use http/);
  });

  it('turns the endpoint into the agent socket URL', () => {
    expect(agentSocketUrl('http://cp:8787', AGENT_CONNECT_PATH, 'prod')).toBe(
      'ws://cp:8787/agent/v1/connect?cluster=prod',
    );
    expect(agentSocketUrl('https://cp.example.com/berth/', AGENT_CONNECT_PATH, 'a b')).toBe(
      'wss://cp.example.com/berth/agent/v1/connect?cluster=a+b',
    );
  });
});

describe('Backoff', () => {
  it('doubles the jitter window up to the cap and starts over after a reset', () => {
    const backoff = new Backoff(250, 10_000, () => 0.999_999);
    const delays = Array.from({ length: 8 }, () => backoff.nextDelayMs());
    expect(delays).toEqual([249, 499, 999, 1999, 3999, 7999, 9999, 9999]);
    backoff.reset();
    expect(backoff.nextDelayMs()).toBe(249);
  });

  it('draws each delay uniformly from zero (full jitter)', () => {
    expect(new Backoff(250, 10_000, () => 0).nextDelayMs()).toBe(0);
  });
});

describe('the state file', () => {
  let dir: string;
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('writes atomically and reads back what it wrote', async () => {
    dir = mkdtempSync(join(tmpdir(), 'berth-state-'));
    const store = await StateStore.open(dir, 'prod');
    store.state.instanceId = 'i-1';
    store.state.tasks.push({
      taskArn: 'arn:task/prod/1',
      generation: 3,
      desiredStatus: 'RUNNING',
      seq: 7,
      observed: { taskArn: 'arn:task/prod/1', generation: 3, lastStatus: 'RUNNING', containers: [] },
    });
    await Promise.all([store.save(), store.save(), store.save()]);
    expect(readdirSync(dir)).toEqual(['state.json']);
    const reopened = await StateStore.open(dir, 'prod');
    expect(reopened.state).toEqual(store.state);
  });

  it('lets every save made while a write is in flight share the next write, and resolves each once its change is on disk', async () => {
    dir = mkdtempSync(join(tmpdir(), 'berth-state-'));
    const store = await StateStore.open(dir, 'prod');
    const onDisk = () => JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as { tasks: unknown[] };
    const saves: Promise<number>[] = [];
    for (let i = 0; i < 20; i++) {
      store.state.tasks.push({
        taskArn: `arn:task/prod/${i}`,
        generation: 1,
        desiredStatus: 'RUNNING',
        seq: 0,
        observed: { taskArn: `arn:task/prod/${i}`, generation: 1, lastStatus: 'PENDING', containers: [] },
      });
      // Each caller learns how many tasks the file held when its save resolved.
      saves.push(store.save().then(() => onDisk().tasks.length));
      // Changes keep coming between the saves, as reports do while commands are recorded.
      await Promise.resolve();
    }
    const seen = await Promise.all(saves);
    for (const [i, tasksOnDisk] of seen.entries()) expect(tasksOnDisk).toBeGreaterThanOrEqual(i + 1);
    // The first save's write began at once; every later one joined the single write after it.
    expect(store.writes).toBe(2);
    await store.save();
    expect(store.writes).toBe(3);
  });

  it('refuses a state dir that belongs to another cluster, and a corrupt file', async () => {
    dir = mkdtempSync(join(tmpdir(), 'berth-state-'));
    await (await StateStore.open(dir, 'prod')).save();
    await expect(StateStore.open(dir, 'staging')).rejects.toThrow(/belongs to cluster 'prod'/);
    writeFileSync(join(dir, 'state.json'), '{"formatVersion":1');
    await expect(StateStore.open(dir, 'prod')).rejects.toThrow(/not valid JSON/);
    expect(readFileSync(join(dir, 'state.json'), 'utf8')).toBe('{"formatVersion":1');
  });
});

describe('Docker create options', () => {
  const request = (overrides: Partial<CreateContainerRequest> = {}): CreateContainerRequest => ({
    name: 'berth-abc-web',
    spec: buildContainer({
      name: 'web',
      hostname: 'web',
      portMappings: [
        { containerPort: 80, protocol: 'tcp' },
        { containerPort: 53, hostPort: 5353, protocol: 'udp' },
      ],
    }),
    networkMode: 'bridge',
    labels: { 'com.berth.task-arn': 'arn' },
    links: ['berth-abc-db:db'],
    stopTimeoutSeconds: 30,
    ...overrides,
  });

  it('asks for an ephemeral host port when none is given, and keeps a fixed one', () => {
    const options = dockerCreateOptions(request());
    expect(options.ExposedPorts).toEqual({ '80/tcp': {}, '53/udp': {} });
    expect(options.HostConfig?.PortBindings).toEqual({
      '80/tcp': [{ HostPort: '' }],
      '53/udp': [{ HostPort: '5353' }],
    });
    expect(options.HostConfig?.Links).toEqual(['berth-abc-db:db']);
    expect(options.StopTimeout).toBe(30);
  });

  it('leaves out what the host network namespace does not allow', () => {
    const options = dockerCreateOptions(request({ networkMode: 'host' }));
    expect(options.Hostname).toBeUndefined();
    expect(options.HostConfig?.PortBindings).toEqual({});
    expect(options.HostConfig?.Links).toBeUndefined();
    expect(options.HostConfig?.NetworkMode).toBe('host');
  });

  it('does not let docker labels impersonate the agent', () => {
    const spec = buildContainer({
      name: 'web',
      dockerLabels: { 'com.berth.task-arn': 'forged', team: 'ops' },
    });
    expect(dockerCreateOptions(request({ spec })).Labels).toEqual({
      'com.berth.task-arn': 'arn',
      team: 'ops',
    });
  });

  it('reads network bindings from Docker ports', () => {
    expect(
      networkBindingsOf({
        '80/tcp': [
          { HostIp: '0.0.0.0', HostPort: '32768' },
          { HostIp: '::', HostPort: '32769' },
        ],
        '9000/tcp': null,
      }),
    ).toEqual([
      { bindIP: '0.0.0.0', containerPort: 80, hostPort: 32768, protocol: 'tcp' },
      { bindIP: '::', containerPort: 80, hostPort: 32769, protocol: 'tcp' },
    ]);
  });
});

describe('container dependencies', () => {
  const exited = (exitCode: number): ContainerState => ({
    id: 'x',
    name: 'x',
    labels: {},
    running: false,
    hasStarted: true,
    exitCode,
    oomKilled: false,
    networkBindings: [],
  });

  it('orders creation after dependencies and links, and refuses a cycle', () => {
    const app = buildContainer({
      name: 'app',
      dependsOn: [{ containerName: 'setup', condition: 'SUCCESS' }],
    });
    const setup = buildContainer({ name: 'setup', links: ['db'] });
    const db = buildContainer({ name: 'db' });
    expect(creationOrder([app, setup, db]).map((c) => c.name)).toEqual(['db', 'setup', 'app']);
    const loop = buildContainer({ name: 'db', dependsOn: [{ containerName: 'app', condition: 'START' }] });
    expect(() => creationOrder([app, setup, loop])).toThrow(TaskStartFailure);
  });

  it('waits for COMPLETE, and fails SUCCESS on a non-zero exit', () => {
    const complete = buildContainer({
      name: 'a',
      dependsOn: [{ containerName: 'b', condition: 'COMPLETE' }],
    });
    const success = buildContainer({ name: 'a', dependsOn: [{ containerName: 'b', condition: 'SUCCESS' }] });
    expect(dependenciesSatisfied(complete, () => undefined)).toBe(false);
    expect(
      dependenciesSatisfied(complete, () => ({ ...exited(0), running: true, exitCode: undefined })),
    ).toBe(false);
    expect(dependenciesSatisfied(complete, () => exited(2))).toBe(true);
    expect(dependenciesSatisfied(success, () => exited(0))).toBe(true);
    expect(() => dependenciesSatisfied(success, () => exited(2))).toThrow('dependency b exited with code 2');
  });

  it('names containers deterministically from the task id', () => {
    expect(runtimeNameOf('arn:aws:ecs:us-east-1:1:task/prod/0123abcd', 'web')).toBe('berth-0123abcd-web');
  });
});
