/**
 * The README's front door, as a new user runs it: `berth start` (what `npm start` runs after its
 * set-up scripts) on an empty data directory, then the README's aws cli example with Debian's aws
 * cli v2, using the exported credentials lines the start printed. The local agent's join token is
 * in the audit log under the operator's login, and its registration under that token.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BerthProcess, spawnBerth } from '../../helpers/berth-process';
import { removeTaskContainers } from '../../helpers/docker';
import { freePort } from '../../helpers/server-process';
import { waitFor } from '../../helpers/wait';

const run = promisify(execFile);

describe('the README: npm start, then the aws cli example', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'berth-readme-'));
  let berth: BerthProcess;
  let endpoint: string;
  let awsEnv: Record<string, string>;
  const taskArns: string[] = [];
  const aws = async (...args: string[]) =>
    (
      await run('/usr/bin/aws', ['ecs', ...args, '--endpoint-url', endpoint], {
        env: awsEnv,
        timeout: 120_000,
      })
    ).stdout;

  beforeAll(async () => {
    const port = await freePort();
    berth = spawnBerth(['start'], { BERTH_DATA_DIR: dataDir, PORT: String(port) });
    await waitFor(
      'berth start to print its banner and connect its agent',
      () => {
        if (berth.child.exitCode !== null) throw new Error(`berth start exited: ${berth.output()}`);
        return /\[agent\] connected as instance/.test(berth.output());
      },
      60_000,
      100,
    );
    // The banner's own export line, exactly as a user would paste it.
    const exportLine =
      /export (AWS_SHARED_CREDENTIALS_FILE=\S+) (AWS_PROFILE=\S+) (AWS_DEFAULT_REGION=\S+)/.exec(
        berth.output(),
      );
    expect(exportLine).not.toBeNull();
    awsEnv = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: dataDir,
      AWS_CONFIG_FILE: join(dataDir, 'no-aws-config'),
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_PAGER: '',
      ...Object.fromEntries(exportLine!.slice(1).map((pair) => pair.split('=') as [string, string])),
    };
    endpoint = /ECS endpoint:\s+(\S+)/.exec(berth.output())![1]!;
  }, 90_000);
  afterAll(async () => {
    await berth?.kill();
    await removeTaskContainers(taskArns).catch(() => {});
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('writes the admin key for the user alone, and runs, waits for and stops a task as printed', async () => {
    expect(statSync(join(dataDir, 'credentials')).mode & 0o777).toBe(0o600);
    // The README's definition, plus a 2 s stopTimeout so the stop doesn't wait ECS's default 30 s.
    await aws(
      'register-task-definition',
      '--family',
      'hello',
      '--container-definitions',
      '[{"name":"hello","image":"berth-test/busybox:latest","memory":64,"command":["sleep","600"],"stopTimeout":2}]',
    );
    const taskArn = JSON.parse(await aws('run-task', '--cluster', 'default', '--task-definition', 'hello'))
      .tasks[0].taskArn as string;
    await aws('wait', 'tasks-running', '--cluster', 'default', '--tasks', taskArn);
    await aws('stop-task', '--cluster', 'default', '--task', taskArn);
    await aws('wait', 'tasks-stopped', '--cluster', 'default', '--tasks', taskArn);
    const [task] = JSON.parse(await aws('describe-tasks', '--cluster', 'default', '--tasks', taskArn)).tasks;
    expect(task).toMatchObject({ lastStatus: 'STOPPED', stopCode: 'UserInitiated' });
    expect(task.containers[0].exitCode).toBe(137);
  }, 120_000);

  it("records the local agent's join token and its registration in the audit log", async () => {
    const { stdout } = await run(
      process.execPath,
      [new URL('../../../bin/berth.mjs', import.meta.url).pathname, 'audit', '--json'],
      { env: { ...process.env, ...awsEnv, AWS_PROFILE: 'berth', BERTH_ENDPOINT: endpoint } },
    );
    const { events } = JSON.parse(stdout) as {
      events: { principal: string; action: string; detail?: Record<string, unknown> }[];
    };
    const minted = events.find((event) => event.action === 'berth:CreateJoinToken');
    expect(minted?.principal).toMatch(/^local\//);
    const registered = events.find((event) => event.action === 'berth:RegisterContainerInstance');
    expect(registered?.principal).toBe(`join-token/${minted?.detail?.joinTokenId}`);
  });
});
