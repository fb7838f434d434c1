/**
 * ECS ExecuteCommand end to end on every runtime, with a real agent and Docker and the project's
 * own data-channel client (tests/helpers/data-channel-client.ts), which behaves like AWS's
 * session-manager-plugin: an interactive shell (echo, `stty size` after a resize, Ctrl-C stopping
 * a `sleep`, `exit` ending with channel_closed), out-of-order and duplicate input, a lost
 * acknowledgement the client recovers from by resending, early output the client drops and the
 * server resends, the idle timeout, ECS's errors, hostile input on the stream endpoint, the SSM
 * actions, and the agent's link dropping mid-session (the session ends, the exec is killed).
 */

import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  CreateClusterCommand,
  CreateServiceCommand,
  DeleteServiceCommand,
  DescribeTasksCommand,
  ECSServiceException,
  ExecuteCommandCommand,
  ListTasksCommand,
  RegisterTaskDefinitionCommand,
  RunTaskCommand,
  StopTaskCommand,
  UpdateServiceCommand,
} from '@aws-sdk/client-ecs';
import { SignatureV4 } from '@smithy/signature-v4';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { WebCryptoSha256 } from '../../../worker/api/auth/web-crypto-sha256';
import { type AgentProcess, spawnAgent } from '../../helpers/agent-process';
import { signedFetch } from '../../helpers/credentials';
import {
  DataChannelClient,
  type DataChannelClientOptions,
  encodeClientFrame,
} from '../../helpers/data-channel-client';
import { docker, removeTaskContainers, TEST_IMAGE } from '../../helpers/docker';
import { waitForConnectedInstance } from '../../helpers/ecs-queries';
import type { RunningRuntime, RuntimeHarness } from '../../helpers/runtimes';
import { startTcpProxy, type TcpProxy } from '../../helpers/tcp-proxy';
import { waitFor } from '../../helpers/wait';

const IDLE_TIMEOUT_MS = 5_000;
const run = promisify(execFile);
/** Debian's aws cli v2 (the `aws` first on PATH may be a v1). */
const AWS_CLI_V2 = '/usr/bin/aws';
/** A stand-in for AWS's session-manager-plugin, found on PATH by the real aws cli. */
const FAKE_PLUGIN_DIR = new URL('../../helpers/fake-plugin', import.meta.url).pathname;
const LONG_RUNNING = ['sh', '-c', 'trap "exit 0" TERM; while true; do sleep 1; done'];

export function defineExecSessionScenarios(harness: RuntimeHarness) {
  describe(`ExecuteCommand sessions on the ${harness.name} runtime`, () => {
    const cluster = `exec-session-${Math.random().toString(36).slice(2, 8)}`;
    let runtime: RunningRuntime;
    let proxy: TcpProxy;
    let agent: AgentProcess;
    let taskArn: string;
    let runtimeId: string;
    let familyArn: string;
    const started: string[] = [];
    const clients: DataChannelClient[] = [];

    async function runTask(enableExecuteCommand: boolean): Promise<string> {
      const run = await runtime.ecs.send(
        new RunTaskCommand({ cluster, taskDefinition: familyArn, enableExecuteCommand }),
      );
      const arn = run.tasks![0]!.taskArn!;
      started.push(arn);
      await waitFor(
        'the task to run',
        async () =>
          (await runtime.ecs.send(new DescribeTasksCommand({ cluster, tasks: [arn] }))).tasks?.[0]
            ?.lastStatus === 'RUNNING',
        60_000,
      );
      return arn;
    }

    beforeAll(async () => {
      runtime = await harness.start({ execIdleTimeoutMs: IDLE_TIMEOUT_MS });
      await runtime.ecs.send(
        new CreateClusterCommand({
          clusterName: cluster,
          configuration: { executeCommandConfiguration: { logging: 'DEFAULT' } },
        }),
      );
      // The agent reaches the control plane through a proxy the test can cut.
      proxy = await startTcpProxy(Number(new URL(runtime.endpoint).port));
      agent = spawnAgent({
        endpoint: `http://127.0.0.1:${proxy.port}`,
        cluster,
        joinToken: await runtime.mintJoinToken(cluster),
      });
      await waitForConnectedInstance(runtime.ecs, cluster, () => agent.output());
      const definition = await runtime.ecs.send(
        new RegisterTaskDefinitionCommand({
          family: `${cluster}-app`,
          containerDefinitions: [
            { name: 'app', image: TEST_IMAGE, memory: 32, stopTimeout: 1, command: LONG_RUNNING },
          ],
        }),
      );
      familyArn = definition.taskDefinition!.taskDefinitionArn!;
      taskArn = await runTask(true);
      const described = await runtime.ecs.send(new DescribeTasksCommand({ cluster, tasks: [taskArn] }));
      runtimeId = described.tasks![0]!.containers![0]!.runtimeId!;
    }, 120_000);

    afterAll(async () => {
      for (const client of clients) client.close();
      await agent?.kill();
      await proxy?.close();
      await removeTaskContainers(started);
      await runtime?.close();
    });

    async function session(command = '/bin/sh', task = taskArn) {
      const out = await runtime.ecs.send(
        new ExecuteCommandCommand({ cluster, task, command, interactive: true }),
      );
      return out;
    }

    async function openShell(options: DataChannelClientOptions = {}) {
      const out = await session();
      const client = await DataChannelClient.open(out.session!.streamUrl!, out.session!.tokenValue!, options);
      clients.push(client);
      return { client, out };
    }

    const processes = async () =>
      ((await docker.getContainer(runtimeId).top({ ps_args: '-o pid,args' })).Processes ?? []).map(
        (p: string[]) => p.join(' '),
      );

    async function errorOf(promise: Promise<unknown>): Promise<ECSServiceException> {
      try {
        await promise;
      } catch (error) {
        if (error instanceof ECSServiceException) return error;
        throw error;
      }
      throw new Error('expected the call to fail');
    }

    it('shows exec readiness as ECS does: enableExecuteCommand, the ExecuteCommandAgent RUNNING, the runtime id', async () => {
      const described = await runtime.ecs.send(new DescribeTasksCommand({ cluster, tasks: [taskArn] }));
      const task = described.tasks![0]!;
      expect(task.enableExecuteCommand).toBe(true);
      expect(task.containers![0]!.managedAgents).toEqual([
        expect.objectContaining({ name: 'ExecuteCommandAgent', lastStatus: 'RUNNING' }),
      ]);
      expect(task.containers![0]!.runtimeId).toMatch(/^[0-9a-f]{64}$/);
    });

    it('runs an interactive shell: echo, stty size after resizes, Ctrl-C stops a sleep, exit ends with channel_closed', async () => {
      // Like the plugin: the first output message is dropped unacknowledged, every input is sent twice.
      const { client, out } = await openShell({ dropEarlyOutput: 1, duplicateSends: true });
      expect(out.session!.sessionId).toMatch(/^ecs-execute-command-[0-9a-f]{32}$/);
      client.resize(120, 30);
      client.type('echo hi-$((1+2))\r');
      await waitFor('the echo', () => /\r\nhi-3\r\n/.test(client.output()));
      client.type('stty size\r');
      await waitFor('the first size', () => client.output().includes('30 120'));
      client.resize(100, 40);
      client.type('stty size\r');
      await waitFor('the new size', () => client.output().includes('40 100'));

      client.type('sleep 4321\r');
      await waitFor('the sleep to run', async () =>
        (await processes()).some((p: string) => p.includes('sleep 4321')),
      );
      client.interrupt();
      await waitFor(
        'the sleep to be interrupted',
        async () => !(await processes()).some((p: string) => p.includes('sleep 4321')),
      );
      client.type('echo after-$((2+2))\r');
      await waitFor('the shell after Ctrl-C', () => /\r\nafter-4\r\n/.test(client.output()));
      // Each line typed was processed once, although every frame went twice.
      expect(client.output().match(/\r\nhi-3\r\n/g)).toHaveLength(1);

      client.type('exit\r');
      const closed = await client.closedFrame;
      expect(closed).toMatchObject({
        MessageType: 'channel_closed',
        SessionId: out.session!.sessionId,
        ExitCode: 0,
      });
      expect(closed.Output).toContain('exit code 0');
      expect((await client.socketClosed).code).toBe(1000);

      // The session's record, and its transcript (the cluster logs sessions).
      const record = await waitFor('the session record to end', async () => {
        const response = await signedFetch(
          `${runtime.endpoint}/berth/v1/clusters/${cluster}/exec-sessions/${out.session!.sessionId}`,
          {},
          runtime.credentials,
        );
        const body = (await response.json()) as { session: { endedAt?: number }; transcript?: string };
        return body.session.endedAt ? body : undefined;
      });
      expect(record.session).toMatchObject({
        taskArn,
        containerName: 'app',
        command: '/bin/sh',
        interactive: true,
        exitCode: 0,
        logging: true,
      });
      expect(record.transcript).toContain('hi-3');
    });

    it.skipIf(!existsSync(AWS_CLI_V2))(
      'serves the real aws cli: ExecuteCommand, DescribeTasks and the plugin’s six arguments',
      async () => {
        const argsFile = join(mkdtempSync(join(tmpdir(), 'berth-fake-plugin-')), 'args.json');
        const cli = await run(
          AWS_CLI_V2,
          [
            'ecs',
            'execute-command',
            '--cluster',
            cluster,
            '--task',
            taskArn.split('/').at(-1)!,
            '--container',
            'app',
            '--command',
            '/bin/sh',
            '--interactive',
            '--endpoint-url',
            runtime.endpoint,
            '--region',
            'us-east-1',
          ],
          {
            env: {
              ...Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('AWS_'))),
              PATH: `${FAKE_PLUGIN_DIR}:${process.env.PATH}`,
              AWS_ACCESS_KEY_ID: runtime.credentials.accessKeyId,
              AWS_SECRET_ACCESS_KEY: runtime.credentials.secretAccessKey,
              AWS_CONFIG_FILE: '/dev/null',
              AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
              FAKE_PLUGIN_INPUT: 'echo via-aws-$((6*7))\rexit\r',
              FAKE_PLUGIN_ARGS_FILE: argsFile,
            },
          },
        );
        expect(cli.stdout).toContain('The Session Manager plugin was installed successfully');
        expect(cli.stdout).toMatch(/\r\nvia-aws-42\r\n/);
        const args = JSON.parse(readFileSync(argsFile, 'utf8')) as string[];
        expect(args).toHaveLength(6);
        expect(JSON.parse(args[0]!)).toEqual({
          sessionId: expect.stringMatching(/^ecs-execute-command-/),
          streamUrl: expect.stringMatching(/^ws:\/\/127\.0\.0\.1:\d+\/ssm\/v1\/data-channel\//),
          tokenValue: expect.any(String),
        });
        expect(args.slice(1, 3)).toEqual(['us-east-1', 'StartSession']);
        // The target carries the container's runtime id, which the cli read with DescribeTasks.
        expect(JSON.parse(args[4]!)).toEqual({
          Target: `ecs:${cluster}_${taskArn.split('/').at(-1)}_${runtimeId}`,
        });
        expect(args[5]).toBe(runtime.endpoint);
      },
      60_000,
    );

    it('processes out-of-order and duplicate input once, in sequence order', async () => {
      const { client } = await openShell();
      const first = client.nextInputFrame(1, Buffer.from('echo or'));
      const second = client.nextInputFrame(1, Buffer.from('der-$((40+2))\r'));
      client.sendFrame(second);
      client.sendFrame(second);
      client.sendFrame(first);
      client.sendFrame(first);
      await waitFor('the reordered command', () => /\r\norder-42\r\n/.test(client.output()));
      await waitFor('every input acknowledged', () => client.unackedInput() === 0);
      client.type('exit\r');
      await client.closedFrame;
      expect(client.output().match(/\r\norder-42\r\n/g)).toHaveLength(1);
    });

    it('recovers from a lost acknowledgement: the client resends, the server acknowledges the duplicate and runs it once', async () => {
      const { client } = await openShell({ loseAcksOfInput: [0] });
      client.type('echo lost-$((3+4))\r');
      await waitFor('the resend to be acknowledged', () => client.unackedInput() === 0);
      expect(client.stats.resentInput).toBeGreaterThanOrEqual(1);
      await waitFor('the command', () => /\r\nlost-7\r\n/.test(client.output()));
      client.type('exit\r');
      await client.closedFrame;
      expect(client.output().match(/\r\nlost-7\r\n/g)).toHaveLength(1);
    });

    it('ends an idle session with ECS’s idle message', async () => {
      const { client } = await openShell();
      const closed = await client.closedFrame;
      expect(closed.Output).toBe('Your session timed out due to inactivity and has been terminated.');
    }, 30_000);

    it('refuses with ECS’s errors: exec not enabled, not interactive, unknown container, stopped task', async () => {
      const plain = await runTask(false);
      const notEnabled = await errorOf(session('/bin/sh', plain));
      expect(notEnabled.name).toBe('InvalidParameterException');
      expect(notEnabled.message).toContain('execute command was not enabled when the task was run');

      const notInteractive = await errorOf(
        runtime.ecs.send(
          new ExecuteCommandCommand({ cluster, task: taskArn, command: 'sh', interactive: false }),
        ),
      );
      expect(notInteractive.message).toBe('Interactive is the only mode supported currently.');

      const unknownContainer = await errorOf(
        runtime.ecs.send(
          new ExecuteCommandCommand({
            cluster,
            task: taskArn,
            container: 'nope',
            command: 'sh',
            interactive: true,
          }),
        ),
      );
      expect(unknownContainer.name).toBe('InvalidParameterException');
      expect(unknownContainer.message).toContain("container: The container 'nope' was not found");

      const stopping = await runTask(true);
      await runtime.ecs.send(new StopTaskCommand({ cluster, task: stopping }));
      const stopped = await errorOf(session('/bin/sh', stopping));
      expect(stopped.name).toBe('InvalidParameterException');
      expect(stopped.message).toContain('the task is stopped');
    });

    it('takes enableExecuteCommand from CreateService and UpdateService for new tasks only', async () => {
      const serviceName = 'exec-svc';
      await runtime.ecs.send(
        new CreateServiceCommand({ cluster, serviceName, taskDefinition: familyArn, desiredCount: 1 }),
      );
      const tasksOfService = async () => {
        const list = await runtime.ecs.send(new ListTasksCommand({ cluster, serviceName }));
        if (!list.taskArns?.length) return [];
        return (
          (await runtime.ecs.send(new DescribeTasksCommand({ cluster, tasks: list.taskArns }))).tasks ?? []
        );
      };
      const [first] = await waitFor('the service’s first task', async () => {
        const tasks = await tasksOfService();
        return tasks.length === 1 ? tasks : undefined;
      });
      started.push(first!.taskArn!);
      await runtime.ecs.send(
        new UpdateServiceCommand({
          cluster,
          service: serviceName,
          enableExecuteCommand: true,
          desiredCount: 2,
        }),
      );
      const tasks = await waitFor('the service’s second task', async () => {
        const all = await tasksOfService();
        return all.length === 2 ? all : undefined;
      });
      started.push(...tasks.map((t) => t.taskArn!));
      const byArn = new Map(tasks.map((t) => [t.taskArn, t.enableExecuteCommand]));
      expect(byArn.get(first!.taskArn)).toBe(false);
      expect([...byArn.values()].sort()).toEqual([false, true]);
      await runtime.ecs.send(new DeleteServiceCommand({ cluster, service: serviceName, force: true }));
    });

    it('refuses hostile input on the stream endpoint cleanly and keeps serving', async () => {
      // A wrong token, then a reused one.
      const out = await session();
      const wrong = await DataChannelClient.open(out.session!.streamUrl!, 'not-the-token');
      expect((await wrong.socketClosed).code).toBe(4001);
      const good = await DataChannelClient.open(out.session!.streamUrl!, out.session!.tokenValue!);
      clients.push(good);
      const reused = await DataChannelClient.open(out.session!.streamUrl!, out.session!.tokenValue!);
      expect((await reused.socketClosed).code).toBe(4001);

      // A first frame that is not the token.
      const other = await session();
      const raw = new WebSocket(other.session!.streamUrl!);
      await new Promise((resolve) => raw.once('open', resolve));
      raw.send(Buffer.from([1, 2, 3]));
      const rawClosed = await new Promise<number>((resolve) => raw.once('close', (code) => resolve(code)));
      expect(rawClosed).toBe(4001);

      // Garbage after the token is dropped: short, bad digest, wrong header length, text.
      good.sendRaw(Buffer.from('garbage'));
      const badDigest = encodeClientFrame({
        messageType: 'input_stream_data',
        sequenceNumber: 0,
        flags: 0,
        messageId: '00000000-0000-0000-0000-000000000000',
        payloadType: 1,
        payload: Buffer.from('echo pwned\r'),
      });
      badDigest[90] ^= 0xff;
      good.sendRaw(badDigest);
      const wrongHeader = Buffer.from(badDigest);
      wrongHeader.writeUInt32BE(120, 0);
      good.sendRaw(wrongHeader);
      good.sendRaw('{"not":"binary"}');
      good.type('echo still-$((1+1))\r');
      await waitFor('the session to work on', () => /\r\nstill-2\r\n/.test(good.output()));
      expect(good.output()).not.toContain('pwned');

      // An oversized frame closes that socket (1009) and nothing else.
      good.sendRaw(Buffer.alloc(200 * 1024, 1));
      expect((await good.socketClosed).code).toBe(1009);

      // An unknown session is not found.
      const unknown = new WebSocket(
        out.session!.streamUrl!.replace(
          /ecs-execute-command-[0-9a-f]+/,
          `ecs-execute-command-${'0'.repeat(32)}`,
        ),
      );
      const status = await new Promise<number>((resolve) =>
        unknown.once('unexpected-response', (_request, response) => resolve(response.statusCode ?? 0)),
      );
      expect(status).toBe(404);

      const after = await openShell();
      after.client.type('echo alive\r');
      await waitFor('a new session after all that', () => /\r\nalive\r\n/.test(after.client.output()));
      after.client.type('exit\r');
      await after.client.closedFrame;
    });

    it('answers the plugin’s SSM calls: ResumeSession without a token, TerminateSession ends the session', async () => {
      const { client, out } = await openShell();
      client.type('echo ready\r');
      await waitFor('the shell', () => client.output().includes('ready'));
      const ssm = async (action: string) => {
        const url = new URL(runtime.endpoint);
        const body = JSON.stringify({ SessionId: out.session!.sessionId });
        const signer = new SignatureV4({
          credentials: runtime.credentials,
          region: 'us-east-1',
          service: 'ssm',
          sha256: WebCryptoSha256,
        });
        const signed = await signer.sign({
          method: 'POST',
          protocol: url.protocol,
          hostname: url.hostname,
          port: Number(url.port),
          path: '/',
          headers: {
            host: url.host,
            'content-type': 'application/x-amz-json-1.1',
            'x-amz-target': `AmazonSSM.${action}`,
          },
          body,
        });
        const response = await fetch(runtime.endpoint, { method: 'POST', headers: signed.headers, body });
        return { status: response.status, body: (await response.json()) as Record<string, unknown> };
      };
      const resumed = await ssm('ResumeSession');
      expect(resumed).toEqual({ status: 200, body: { SessionId: out.session!.sessionId } });
      const terminated = await ssm('TerminateSession');
      expect(terminated.status).toBe(200);
      const closed = await client.closedFrame;
      expect(closed.Output).toContain('Terminated');
    });

    it('ends the session when the agent’s link drops, and the agent kills the exec', async () => {
      const { client } = await openShell();
      client.type('sleep 1234\r');
      await waitFor('the sleep to run', async () =>
        (await processes()).some((p: string) => p.includes('sleep 1234')),
      );
      proxy.dropConnections();
      const closed = await client.closedFrame;
      expect(closed.Output).toContain('AgentDisconnected');
      await waitFor(
        'nothing left running',
        async () =>
          !(await processes()).some((p: string) => p.includes('sleep 1234') || p.includes('/bin/sh')),
        15_000,
      );
    }, 30_000);

    it('answers TargetNotConnectedException once the task’s agent is gone', async () => {
      await agent.kill();
      const error = await waitFor('the agent’s link to be gone', async () => {
        const refused = await errorOf(session());
        return refused.name === 'TargetNotConnectedException' ? refused : undefined;
      });
      expect(error.message).toBe('The execute command failed due to an internal error. Try again later.');
    });
  });
}
