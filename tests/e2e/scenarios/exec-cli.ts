/**
 * `berth exec` and `berth logs` end to end on every runtime: a real agent and Docker, the CLI as a
 * user runs it. Exec prints stdout and stderr apart and exits with the command's own code (0, 3,
 * 137 when killed), carries 10 MB; logs read the container's output, and follow it.
 */
import {
  CreateClusterCommand,
  DescribeTasksCommand,
  RegisterTaskDefinitionCommand,
  RunTaskCommand,
} from '@aws-sdk/client-ecs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readRecords } from '../../../worker/core/streams/record-stream';
import { type AgentProcess, spawnAgent } from '../../helpers/agent-process';
import { cliEnv, runBerthCli, startBerthCli } from '../../helpers/berth-cli';
import { signedFetch } from '../../helpers/credentials';
import { removeTaskContainers, TEST_IMAGE } from '../../helpers/docker';
import { waitForConnectedInstance } from '../../helpers/ecs-queries';
import type { RunningRuntime, RuntimeHarness } from '../../helpers/runtimes';
import { waitFor } from '../../helpers/wait';

/** Prints to both streams at start, then a numbered tick every 200 ms (for --follow). */
const TICKING = [
  'sh',
  '-c',
  'echo hello-out; echo hello-err >&2; i=0; trap "exit 0" TERM; while true; do i=$((i+1)); echo tick-$i; sleep 0.2; done',
];

export function defineExecCliScenarios(harness: RuntimeHarness) {
  describe(`berth exec and berth logs on the ${harness.name} runtime`, () => {
    const cluster = `exec-cli-${Math.random().toString(36).slice(2, 8)}`;
    let runtime: RunningRuntime;
    let agent: AgentProcess;
    let env: Record<string, string>;
    let taskArn: string;
    let taskId: string;
    const started: string[] = [];

    beforeAll(async () => {
      runtime = await harness.start();
      env = cliEnv(runtime.endpoint, runtime.credentials);
      await runtime.ecs.send(new CreateClusterCommand({ clusterName: cluster }));
      agent = spawnAgent({
        endpoint: runtime.endpoint,
        cluster,
        joinToken: await runtime.mintJoinToken(cluster),
      });
      await waitForConnectedInstance(runtime.ecs, cluster, () => agent.output());
      const definition = await runtime.ecs.send(
        new RegisterTaskDefinitionCommand({
          family: `${cluster}-app`,
          containerDefinitions: [
            { name: 'app', image: TEST_IMAGE, memory: 32, stopTimeout: 1, command: TICKING },
          ],
        }),
      );
      const run = await runtime.ecs.send(
        new RunTaskCommand({
          cluster,
          taskDefinition: definition.taskDefinition!.taskDefinitionArn,
          enableExecuteCommand: true,
        }),
      );
      taskArn = run.tasks![0]!.taskArn!;
      taskId = taskArn.split('/').at(-1)!;
      started.push(taskArn);
      await waitFor(
        'the task to run',
        async () => {
          const described = await runtime.ecs.send(new DescribeTasksCommand({ cluster, tasks: [taskArn] }));
          return described.tasks?.[0]?.lastStatus === 'RUNNING';
        },
        60_000,
      );
    }, 120_000);

    afterAll(async () => {
      await agent?.kill();
      await removeTaskContainers(started);
      await runtime?.close();
    });

    const exec = (...command: string[]) =>
      runBerthCli(['exec', '--cluster', cluster, '--task', taskId, '--', ...command], env);

    it('exits with the command’s own exit code: 0, 3, and 137 when the process is killed', async () => {
      const [ok, three, killed] = await Promise.all([
        exec('true'),
        exec('sh', '-c', 'exit 3'),
        exec('sh', '-c', 'kill -9 $$'),
      ]);
      expect([ok.code, three.code, killed.code]).toEqual([0, 3, 137]);

      // Each session's end is audited: who, the task, container, command and its exit code.
      const ends = await waitFor('the three sessions’ ends in the audit log', async () => {
        const response = await signedFetch(
          `${runtime.endpoint}/berth/v1/audit?action=berth:EndExecSession&cluster=${cluster}`,
          {},
          runtime.credentials,
        );
        const { events } = (await response.json()) as {
          events: { principal: string; resource: string; detail: Record<string, unknown> }[];
        };
        return events.length >= 3 ? events : undefined;
      });
      expect(ends.map((end) => end.detail.exitCode).sort()).toEqual([0, 137, 3]);
      const exitedThree = ends.find((end) => end.detail.exitCode === 3);
      expect(exitedThree).toMatchObject({
        resource: expect.stringContaining(taskId),
        principal: 'test-admin',
      });
      expect(exitedThree?.detail).toMatchObject({
        container: 'app',
        command: JSON.stringify(['sh', '-c', 'exit 3']),
        interactive: false,
      });
    });

    it('keeps stderr apart from stdout', async () => {
      const result = await exec('sh', '-c', 'echo to-out; echo to-err >&2; echo more-out');
      expect(result.code).toBe(0);
      expect(result.stdout.toString()).toBe('to-out\nmore-out\n');
      expect(result.stderr.toString()).toBe('to-err\n');
    });

    it('carries 10 MB of output intact', async () => {
      const result = await exec('sh', '-c', 'head -c 10485760 /dev/zero | tr "\\0" x');
      expect(result.code).toBe(0);
      expect(result.stdout.length).toBe(10 * 1024 * 1024);
      expect(result.stdout.every((byte) => byte === 0x78)).toBe(true);
    }, 60_000);

    it('runs many execs at once on one host, each with its own output and exit code', async () => {
      const results = await Promise.all(
        Array.from({ length: 20 }, async (_, i) => {
          const response = await signedFetch(
            `${runtime.endpoint}/berth/v1/clusters/${cluster}/tasks/${taskId}/exec`,
            {
              method: 'POST',
              body: JSON.stringify({ command: ['sh', '-c', `echo out-${i}; echo err-${i} >&2; exit ${i}`] }),
            },
            runtime.credentials,
          );
          const records: { type: number; text: string }[] = [];
          await readRecords(response.body!, (type, payload) => {
            records.push({ type, text: new TextDecoder().decode(payload) });
          });
          return records;
        }),
      );
      // stdout and stderr are two pipes: their order against each other is not kept, each one's is.
      for (const [i, records] of results.entries()) {
        const text = (type: number) => records.filter((r) => r.type === type).map((r) => r.text);
        expect(text(1)).toEqual([`out-${i}\n`]);
        expect(text(2)).toEqual([`err-${i}\n`]);
        expect(records.at(-1)).toEqual({ type: 3, text: JSON.stringify({ exitCode: i }) });
      }
    }, 60_000);

    it('holds a command whose reader stops reading, instead of buffering its output without bound', async () => {
      // Writes 64 KiB blocks forever, counting them in a file; only flow control can stop it.
      const producer = 'i=0; while true; do head -c 65536 /dev/zero; i=$((i+1)); echo $i > /tmp/blocks; done';
      const controller = new AbortController();
      const response = await signedFetch(
        `${runtime.endpoint}/berth/v1/clusters/${cluster}/tasks/${taskId}/exec`,
        {
          method: 'POST',
          body: JSON.stringify({ command: ['sh', '-c', producer] }),
          signal: controller.signal,
        },
        runtime.credentials,
      );
      expect(response.status).toBe(200);
      // Read nothing. The producer must stall once the windows and socket buffers are full.
      const blocks = async () => Number((await exec('cat', '/tmp/blocks')).stdout.toString().trim() || '0');
      let last = -1;
      const stalledAt = await waitFor(
        'the producer to stall',
        async () => {
          const count = await blocks();
          const stalled = count > 0 && count === last;
          last = count;
          return stalled ? count : undefined;
        },
        60_000,
        750,
      );
      // 64 MiB is far above the windows and buffers on the way, far below an unbounded producer's pace.
      expect(stalledAt * 64 * 1024).toBeLessThan(64 * 1024 * 1024);
      controller.abort();
      // A reader that leaves ends the command: the stream closes and the agent kills the exec.
      // (Local Miniflare never reports a client that left to the Durable Object: docs/workers.md.)
      if (harness.name === 'node') {
        await waitFor('the producer to be killed', async () => {
          const ps = await exec('ps', '-o', 'args');
          return !ps.stdout.toString().includes('/tmp/blocks');
        });
      }
    }, 90_000);

    it('prints the logs, stdout and stderr apart', async () => {
      const result = await runBerthCli(
        ['logs', '--cluster', cluster, '--task', taskArn, '--tail', '1000'],
        env,
      );
      expect(result.code).toBe(0);
      expect(result.stdout.toString()).toMatch(/^hello-out\ntick-1\n/);
      expect(result.stderr.toString()).toBe('hello-err\n');
    });

    it('follows the logs as the container writes them', async () => {
      const follow = startBerthCli(
        ['logs', '--cluster', cluster, '--task', taskId, '--follow', '--tail', '1', '--timestamps'],
        env,
      );
      try {
        const first = await waitFor('a first tick', () => /tick-(\d+)/.exec(follow.stdout())?.[1]);
        // A tick written after the follow began shows up on the open stream.
        await waitFor('a later tick', () => {
          const ticks = [...follow.stdout().matchAll(/tick-(\d+)/g)].map((m) => Number(m[1]));
          return ticks.some((tick) => tick > Number(first) + 1);
        });
        expect(follow.stdout()).toMatch(/^\d{4}-\d\d-\d\dT\S+ tick-\d+$/m);
      } finally {
        follow.kill();
        await follow.done;
      }
    });

    it('opens an interactive session with -it over the data channel and exits with the shell’s exit code', async () => {
      const result = await runBerthCli(
        ['exec', '-it', '--cluster', cluster, '--task', taskId],
        env,
        'echo it-$((2+3))\nexit 4\n',
      );
      expect(result.stdout.toString()).toMatch(/it-5\r\n/);
      expect(result.code).toBe(4);
    });

    it('prints the logs of a stopped task whose container still exists', async () => {
      const definition = await runtime.ecs.send(
        new RegisterTaskDefinitionCommand({
          family: `${cluster}-once`,
          containerDefinitions: [
            { name: 'once', image: TEST_IMAGE, memory: 16, command: ['sh', '-c', 'echo done-$((1+1))'] },
          ],
        }),
      );
      const run = await runtime.ecs.send(
        new RunTaskCommand({ cluster, taskDefinition: definition.taskDefinition!.taskDefinitionArn }),
      );
      const once = run.tasks![0]!.taskArn!;
      started.push(once);
      await waitFor(
        'the task to stop',
        async () =>
          (await runtime.ecs.send(new DescribeTasksCommand({ cluster, tasks: [once] }))).tasks?.[0]
            ?.lastStatus === 'STOPPED',
        60_000,
      );
      const result = await runBerthCli(['logs', '--cluster', cluster, '--task', once], env);
      expect(result.stdout.toString()).toBe('done-2\n');
      expect(result.code).toBe(0);
    });

    it('refuses bad exec requests with the field named, never a 500', async () => {
      const url = `${runtime.endpoint}/berth/v1/clusters/${cluster}/tasks/${taskId}/exec`;
      const cases: [string, string][] = [
        ['{not json', 'The request body is not valid JSON.'],
        ['[]', 'The request body must be a JSON object.'],
        ['{"command": "true"}', 'command: must be a non-empty list of strings'],
        ['{"command": []}', 'command: must be a non-empty list of strings'],
        ['{"command": ["true", 3]}', 'command[1]: must be a string'],
        ['{"command": ["true"], "container": 5}', 'container: must be a string'],
        [
          '{"command": ["true"], "container": "nope"}',
          "container: The container 'nope' was not found in the task.",
        ],
      ];
      for (const [body, message] of cases) {
        const response = await signedFetch(url, { method: 'POST', body }, runtime.credentials);
        expect(response.status).toBe(400);
        expect(await response.json()).toEqual({ __type: 'InvalidParameterException', message });
      }
      const unknownTask = await signedFetch(
        `${runtime.endpoint}/berth/v1/clusters/${cluster}/tasks/${'0'.repeat(32)}/logs`,
        {},
        runtime.credentials,
      );
      expect(unknownTask.status).toBe(400);
      expect(((await unknownTask.json()) as { message: string }).message).toMatch(
        /^task: The task '0+' was not found/,
      );
    });

    it('refuses exec on a task run without enableExecuteCommand, with ECS’s error', async () => {
      const definition = await runtime.ecs.send(
        new RegisterTaskDefinitionCommand({
          family: `${cluster}-plain`,
          containerDefinitions: [{ name: 'app', image: TEST_IMAGE, memory: 16, command: ['sleep', '3600'] }],
        }),
      );
      const run = await runtime.ecs.send(
        new RunTaskCommand({ cluster, taskDefinition: definition.taskDefinition!.taskDefinitionArn }),
      );
      const plain = run.tasks![0]!.taskArn!;
      started.push(plain);
      const result = await runBerthCli(['exec', '--cluster', cluster, '--task', plain, '--', 'true'], env);
      expect(result.code).toBe(1);
      expect(result.stderr.toString()).toContain(
        'InvalidParameterException: The execute command failed because execute command was not enabled',
      );
    });
  });
}
