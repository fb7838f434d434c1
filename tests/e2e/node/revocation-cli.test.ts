/**
 * Revocation and the audit log as an operator meets them: a `berth server` process, real agent
 * processes (`berth agent`, Docker), and the `berth` CLI signed with the first admin key. A revoked
 * instance's agent is cut off, exits with a clear message, and does not come back, even restarted
 * with its join token; a revoked join token registers nothing; `berth audit` shows all of it.
 */
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  CreateClusterCommand,
  DescribeContainerInstancesCommand,
  type ECSClient,
  ListContainerInstancesCommand,
} from '@aws-sdk/client-ecs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AgentProcess, spawnAgent } from '../../helpers/agent-process';
import { BERTH_BIN } from '../../helpers/berth-process';
import { ecsClientFor } from '../../helpers/control-plane';
import { credentialsFileKey } from '../../helpers/credentials';
import { freePort, type ServerProcess, spawnServer } from '../../helpers/server-process';
import { waitFor } from '../../helpers/wait';

const run = promisify(execFile);
const CLUSTER = 'revocable';

describe('revoking instances and join tokens with berth, against real agents', () => {
  let dataDir: string;
  let server: ServerProcess;
  let ecs: ECSClient;
  const agents: AgentProcess[] = [];

  const berth = (...args: string[]) =>
    run(process.execPath, [BERTH_BIN, ...args], {
      env: {
        ...process.env,
        BERTH_ENDPOINT: server.url,
        AWS_SHARED_CREDENTIALS_FILE: join(dataDir, 'credentials'),
        AWS_PROFILE: 'berth',
        AWS_ACCESS_KEY_ID: '',
        AWS_SECRET_ACCESS_KEY: '',
      },
    });

  const instanceArns = async () =>
    (await ecs.send(new ListContainerInstancesCommand({ cluster: CLUSTER }))).containerInstanceArns ?? [];

  const exitOf = (agent: AgentProcess) =>
    new Promise<number | null>((resolve) => {
      if (agent.child.exitCode !== null) resolve(agent.child.exitCode);
      else agent.child.once('exit', (code) => resolve(code));
    });

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'berth-revocation-cli-'));
    server = await spawnServer({ dataDir, port: await freePort() });
    ecs = ecsClientFor(server.url, await credentialsFileKey(dataDir));
    await ecs.send(new CreateClusterCommand({ clusterName: CLUSTER }));
  }, 60_000);

  afterAll(async () => {
    for (const agent of agents) await agent.kill('SIGKILL');
    ecs?.destroy();
    await server?.kill();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('keeps `join-token --cluster` minting and printing the token on its last line, and lists tokens without it', async () => {
    const minted = execFileSync(process.execPath, [
      BERTH_BIN,
      'join-token',
      '--cluster',
      CLUSTER,
      '--uses',
      '3',
      '--data-dir',
      dataDir,
    ]).toString();
    const token = minted.trim().split('\n').at(-1)!;
    expect(token).toMatch(/^berth_jt_[0-9a-f]+$/);
    const table = (await berth('join-tokens', 'list', '--cluster', CLUSTER)).stdout;
    expect(table).toMatch(/^ID\s+CLUSTER\s+CREATED\s+EXPIRES\s+USES LEFT\s+REVOKED\s+STATUS/);
    expect(table).toMatch(new RegExp(`jt-[0-9a-f]{16}\\s+${CLUSTER}\\s.*\\s3\\s+no\\s+active`));
    expect(table).not.toContain(token.slice('berth_jt_'.length));
    // `join-token list` is the same command.
    const json = JSON.parse((await berth('join-token', 'list', '--json')).stdout);
    expect(json.joinTokens).toHaveLength(1);
    expect(JSON.stringify(json)).not.toContain(token.slice('berth_jt_'.length));
  });

  it('cuts off a revoked instance: its agent exits with a clear message and does not come back', async () => {
    const token = execFileSync(process.execPath, [
      BERTH_BIN,
      'join-token',
      '--cluster',
      CLUSTER,
      '--data-dir',
      dataDir,
    ])
      .toString()
      .trim()
      .split('\n')
      .at(-1)!;
    const stateDir = mkdtempSync(join(tmpdir(), 'berth-revoked-agent-'));
    const agent = spawnAgent({ endpoint: server.url, cluster: CLUSTER, joinToken: token, stateDir });
    agents.push(agent);
    const [arn] = await waitFor(
      'the agent to register',
      async () => {
        const arns = await instanceArns();
        return arns.length === 1 ? arns : undefined;
      },
      60_000,
    );
    const instanceId = arn!.split('/').at(-1)!;

    const revoked = JSON.parse((await berth('instances', 'revoke', '--cluster', CLUSTER, instanceId)).stdout);
    expect(revoked.containerInstance).toMatchObject({ containerInstanceArn: arn, agentConnected: false });
    expect(await exitOf(agent)).toBe(3);
    expect(agent.output()).toMatch(/berth agent: an admin revoked this instance's credential/);

    // Restarted on the same host, with the same (still valid) join token: refused, exits again.
    const restarted = spawnAgent({ endpoint: server.url, cluster: CLUSTER, joinToken: token, stateDir });
    agents.push(restarted);
    expect(await exitOf(restarted)).toBe(3);
    expect(await instanceArns()).toEqual([arn]);
    const [described] = (
      await ecs.send(new DescribeContainerInstancesCommand({ cluster: CLUSTER, containerInstances: [arn!] }))
    ).containerInstances!;
    expect(described!.agentConnected).toBe(false);
    rmSync(stateDir, { recursive: true, force: true });
  }, 120_000);

  it('refuses a revoked join token: a new host with it never registers', async () => {
    const list = JSON.parse((await berth('join-tokens', 'list', '--cluster', CLUSTER, '--json')).stdout);
    const before = await instanceArns();
    for (const { id } of list.joinTokens) {
      const out = JSON.parse((await berth('join-tokens', 'revoke', id)).stdout);
      expect(out.joinToken).toMatchObject({ id, revoked: true, status: 'revoked' });
    }
    const token = execFileSync(process.execPath, [
      BERTH_BIN,
      'join-token',
      '--cluster',
      CLUSTER,
      '--data-dir',
      dataDir,
    ])
      .toString()
      .trim();
    const fresh = JSON.parse((await berth('join-tokens', 'list', '--json')).stdout).joinTokens.at(-1);
    await berth('join-token', 'revoke', fresh.id);
    const agent = spawnAgent({ endpoint: server.url, cluster: CLUSTER, joinToken: token });
    agents.push(agent);
    await waitFor('the agent to be refused', () => /HTTP 401/.test(agent.output()), 30_000);
    expect(await instanceArns()).toEqual(before);
    await agent.kill('SIGKILL');
    await expect(berth('join-tokens', 'revoke', 'jt-nope')).rejects.toMatchObject({
      stderr: expect.stringContaining('joinTokenId:'),
    });
  }, 60_000);

  it('shows all of it in `berth audit`, as a table, as JSON, filtered', async () => {
    const table = (await berth('audit', '--cluster', CLUSTER, '--since', '1h')).stdout;
    const [header, ...rows] = table.split('\n');
    expect(header).toMatch(/^TIME\s+PRINCIPAL\s+ACTION\s+RESOURCE\s+RESULT\s+SOURCE\s+DETAIL$/);
    const actions = rows.map((row) => row.split(/\s{2,}/)[2]);
    expect(actions).toEqual(
      expect.arrayContaining([
        'ecs:CreateCluster',
        'berth:RegisterContainerInstance',
        'berth:RevokeInstanceCredential',
        'berth:ConnectAgent',
        'berth:CreateJoinToken',
      ]),
    );
    const denied = JSON.parse((await berth('audit', '--result', 'denied', '--json')).stdout).events as {
      action: string;
      result: string;
      detail?: { reason?: string };
    }[];
    expect(denied.some((e) => e.result === 'CredentialRevoked')).toBe(true);
    expect(denied.some((e) => e.action === 'berth:ConnectAgent' && e.detail?.reason === 'revoked')).toBe(
      true,
    );
    const limited = JSON.parse((await berth('audit', '--limit', '2', '--json')).stdout).events;
    expect(limited).toHaveLength(2);
    await expect(berth('audit', '--limit', 'lots')).rejects.toMatchObject({
      stderr: expect.stringContaining('--limit'),
    });
    await expect(berth('audit', '--since', 'last tuesday')).rejects.toMatchObject({
      stderr: expect.stringContaining('--since'),
    });
  });
});
