/**
 * The audit log, join-token listing and revocation, and instance credential revocation, on every
 * runtime: through the real SDK, signed Berth API calls and raw agent connections, the way an
 * operator and an attacker would reach them.
 */
import {
  CreateClusterCommand,
  DeregisterContainerInstanceCommand,
  DescribeClustersCommand,
  DescribeContainerInstancesCommand,
  DescribeTasksCommand,
  type ECSClient,
  RegisterTaskDefinitionCommand,
  RunTaskCommand,
  StartTaskCommand,
} from '@aws-sdk/client-ecs';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditEvents, auditPurge } from '../../../db/schema';
import { CLOSE_CODES } from '../../../protocol/agent-protocol';
import type { AuditEvent } from '../../../worker/core/audit/audit-log';
import { ecsClientFor } from '../../helpers/control-plane';
import { signedFetch, type TestCredentials } from '../../helpers/credentials';
import { connectRawAgent, helloFrame, type RawAgent } from '../../helpers/raw-agent';
import type { RunningRuntime, RuntimeHarness } from '../../helpers/runtimes';
import { waitFor } from '../../helpers/wait';

const CLUSTER = 'audited';
const OTHER = 'audited-other';
const LOOPBACK = /^(127\.0\.0\.1|::1|::ffff:127\.0\.0\.1)$/;

export function defineAuditAndRevocationScenarios(harness: RuntimeHarness) {
  describe(`audit log and revocation on the ${harness.name} runtime`, () => {
    let runtime: RunningRuntime;
    let ecs: ECSClient;
    let admin: TestCredentials;
    let readOnly: TestCredentials;
    let readOnlyEcs: ECSClient;
    const open: RawAgent[] = [];

    async function berth(
      method: 'GET' | 'POST',
      path: string,
      body?: unknown,
      credentials = admin,
    ): Promise<{ status: number; json: Record<string, unknown> }> {
      const response = await signedFetch(
        `${runtime.endpoint}${path}`,
        {
          method,
          ...(body === undefined
            ? {}
            : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
        },
        credentials,
      );
      return { status: response.status, json: (await response.json()) as Record<string, unknown> };
    }

    async function audit(query: Record<string, string>): Promise<AuditEvent[]> {
      const { status, json } = await berth('GET', `/berth/v1/audit?${new URLSearchParams(query)}`);
      expect(status, JSON.stringify(json)).toBe(200);
      return json.events as AuditEvent[];
    }

    async function join(token: string, cluster = CLUSTER) {
      const agent = await connectRawAgent(runtime.endpoint, cluster, token);
      open.push(agent);
      agent.send(helloFrame({ hostname: 'audited-host' }));
      const welcome = await agent.waitForFrame('welcome');
      return { agent, arn: welcome.containerInstanceArn, credential: welcome.instanceCredential! };
    }

    beforeAll(async () => {
      runtime = await harness.start({ heartbeatIntervalMs: 1_000 });
      ecs = runtime.ecs;
      admin = runtime.credentials;
      const created = await berth('POST', '/berth/v1/keys', { name: 'auditor-ro', policy: 'read-only' });
      readOnly = created.json as unknown as TestCredentials;
      readOnlyEcs = ecsClientFor(runtime.endpoint, readOnly);
      await ecs.send(new CreateClusterCommand({ clusterName: CLUSTER }));
      await ecs.send(new CreateClusterCommand({ clusterName: OTHER }));
      await ecs.send(
        new RegisterTaskDefinitionCommand({
          family: 'audited',
          containerDefinitions: [{ name: 'main', image: 'busybox', memory: 32, essential: true }],
        }),
      );
    }, 120_000);

    afterAll(async () => {
      for (const agent of open) agent.close();
      readOnlyEcs?.destroy();
      await runtime?.close();
    });

    it('records write calls with who, what, where from and the result, and not reads', async () => {
      await ecs.send(new DescribeClustersCommand({ clusters: [CLUSTER] }));
      const events = await audit({ cluster: CLUSTER });
      const create = events.find((e) => e.action === 'ecs:CreateCluster');
      expect(create).toMatchObject({
        principal: 'test-admin',
        accessKeyId: admin.accessKeyId,
        resource: `arn:aws:ecs:us-east-1:000000000000:cluster/${CLUSTER}`,
        outcome: 'ok',
        result: 'Success',
      });
      expect(create!.sourceAddress).toMatch(LOOPBACK);
      expect(Date.now() - Date.parse(create!.time)).toBeLessThan(120_000);
      expect(events.some((e) => e.action.startsWith('ecs:Describe'))).toBe(false);
      // Account-wide writes have no cluster; the key creation is an admin call.
      const registered = await audit({ action: 'ecs:RegisterTaskDefinition' });
      expect(registered[0]).toMatchObject({ resource: '*', detail: { family: 'audited' } });
      const keyCalls = await audit({ action: 'berth:CreateAccessKey' });
      expect(keyCalls[0]).toMatchObject({ principal: 'test-admin', result: 'Success' });
    });

    it('records a failed write with its error name', async () => {
      await expect(
        ecs.send(new RunTaskCommand({ cluster: CLUSTER, taskDefinition: 'no-such-family:1' })),
      ).rejects.toThrow();
      const [failed] = await audit({ action: 'ecs:RunTask', result: 'error' });
      expect(failed).toMatchObject({
        cluster: CLUSTER,
        outcome: 'error',
        detail: { taskDefinition: 'no-such-family:1' },
      });
      expect(failed!.result).toMatch(/Exception$/);
    });

    it('records refusals of a known key (policy, wrong secret) but not calls signed with a made-up key', async () => {
      await expect(
        readOnlyEcs.send(new RunTaskCommand({ cluster: CLUSTER, taskDefinition: 'audited' })),
      ).rejects.toMatchObject({ name: 'AccessDeniedException' });
      const wrongSecret = ecsClientFor(runtime.endpoint, { ...readOnly, secretAccessKey: 'x'.repeat(40) });
      const madeUp = ecsClientFor(runtime.endpoint, {
        accessKeyId: 'BKIAMADEUPMADEUPMADE',
        secretAccessKey: 'y'.repeat(40),
      });
      try {
        await expect(wrongSecret.send(new DescribeClustersCommand({}))).rejects.toMatchObject({
          name: 'InvalidSignatureException',
        });
        await expect(madeUp.send(new CreateClusterCommand({ clusterName: 'x' }))).rejects.toMatchObject({
          name: 'UnrecognizedClientException',
        });
      } finally {
        wrongSecret.destroy();
        madeUp.destroy();
      }
      const denied = await audit({ principal: 'auditor-ro', result: 'denied' });
      expect(denied.map((e) => [e.action, e.result])).toEqual([
        ['ecs:DescribeClusters', 'InvalidSignatureException'],
        ['ecs:RunTask', 'AccessDeniedException'],
      ]);
      expect(denied[1]).toMatchObject({ accessKeyId: readOnly.accessKeyId, cluster: CLUSTER });
      expect(await audit({ principal: 'BKIAMADEUPMADEUPMADE' })).toEqual([]);
      expect((await audit({ result: 'UnrecognizedClientException' })).length).toBe(0);
    });

    it('lets admins read the log, not read-only keys, and records who read it', async () => {
      const refused = await berth('GET', '/berth/v1/audit', undefined, readOnly);
      expect(refused.status).toBe(400);
      expect(refused.json).toMatchObject({ __type: 'AccessDeniedException' });
      expect(String(refused.json.message)).toContain('berth:ReadAuditLog');
      // Read-only keys still read what berth:Read* used to give them: the task-event stream.
      const stream = await signedFetch(
        `${runtime.endpoint}/berth/v1/clusters/${CLUSTER}/task-events`,
        { signal: AbortSignal.timeout(5_000) },
        readOnly,
      );
      expect(stream.status).toBe(200);
      await stream.body?.cancel();
      const reads = await audit({ action: 'berth:ReadAuditLog' });
      expect(reads.some((e) => e.principal === 'auditor-ro' && e.result === 'AccessDeniedException')).toBe(
        true,
      );
      expect(reads.some((e) => e.principal === 'test-admin' && e.result === 'Success')).toBe(true);
    });

    it('filters by action prefix, time and result, and pages with a token', async () => {
      for (let i = 0; i < 5; i++) {
        await ecs.send(new CreateClusterCommand({ clusterName: `${OTHER}-${i}` }));
      }
      const first = await berth('GET', '/berth/v1/audit?action=ecs:Create*&limit=2');
      expect(first.status).toBe(200);
      const page1 = first.json.events as AuditEvent[];
      expect(page1).toHaveLength(2);
      expect(page1[0]!.detail).toBeUndefined();
      const second = await berth(
        'GET',
        `/berth/v1/audit?action=ecs:Create*&limit=2&nextToken=${first.json.nextToken as string}`,
      );
      const page2 = second.json.events as AuditEvent[];
      expect(Number(page2[0]!.eventId)).toBeLessThan(Number(page1[1]!.eventId));
      expect(page2.every((e) => e.action === 'ecs:CreateCluster')).toBe(true);
      const future = new Date(Date.now() + 3_600_000).toISOString();
      expect(await audit({ since: future })).toEqual([]);
      expect((await audit({ until: '2000-01-01T00:00:00Z' })).length).toBe(0);
      const ok = await audit({ result: 'ok', limit: '1000' });
      expect(ok.every((e) => e.outcome === 'ok')).toBe(true);
    });

    it('answers malformed filters with a 400 naming the field', async () => {
      const cases: [string, RegExp][] = [
        ['limit=1000000', /^limit:/],
        ['limit=0', /^limit:/],
        ['limit=abc', /^limit:/],
        ['since=yesterday', /^since:/],
        ['until=2026-13-45T99:99:99Z', /^until:/],
        ['result=ok%3B--', /^result:/],
        ['action=%25%25', /^action:/],
        ['nextToken=forged', /^nextToken:/],
        [`principal=${'p'.repeat(2000)}`, /^principal:/],
        ['colour=blue', /^colour:/],
      ];
      for (const [query, field] of cases) {
        const { status, json } = await berth('GET', `/berth/v1/audit?${query}`);
        expect(status, query).toBe(400);
        expect(json.__type, query).toBe('InvalidParameterException');
        expect(String(json.message), query).toMatch(field);
      }
    });

    it('lists join tokens without their secret and refuses a revoked one like an expired one', async () => {
      const token = await runtime.mintJoinToken(CLUSTER);
      const listed = await berth('GET', `/berth/v1/join-tokens?cluster=${CLUSTER}`);
      expect(listed.status).toBe(200);
      expect(JSON.stringify(listed.json)).not.toContain(token.slice('berth_jt_'.length));
      const tokens = listed.json.joinTokens as { id: string; cluster: string; status: string }[];
      expect(tokens.length).toBeGreaterThan(0);
      expect(tokens.every((t) => t.cluster === CLUSTER)).toBe(true);
      const mine = tokens.at(-1)!;
      expect(mine).toMatchObject({ status: 'active', revoked: false, usesLeft: null });
      expect(mine.id).toMatch(/^jt-[0-9a-f]{16}$/);

      // It works before it is revoked.
      const { agent } = await join(token);
      agent.close();

      const revoked = await berth('POST', `/berth/v1/join-tokens/${mine.id}/revoke`);
      expect(revoked.status).toBe(200);
      expect(revoked.json.joinToken).toMatchObject({ id: mine.id, revoked: true, status: 'revoked' });
      await expect(connectRawAgent(runtime.endpoint, CLUSTER, token)).rejects.toThrow(/401/);

      const [refusal] = await audit({ action: 'berth:ConnectAgent', principal: `join-token/${mine.id}` });
      expect(refusal).toMatchObject({
        result: 'Unauthorized',
        outcome: 'denied',
        detail: { reason: 'revoked' },
      });
      expect(refusal!.sourceAddress).toMatch(LOOPBACK);
      const [revocation] = await audit({ action: 'berth:RevokeJoinToken' });
      expect(revocation).toMatchObject({ principal: 'test-admin', resource: `join-token/${mine.id}` });
    });

    it('refuses unknown and malformed join token ids and filters with a 400 naming the field', async () => {
      for (const id of ['jt-0000000000000000', 'nonsense', `jt-${'a'.repeat(300)}`]) {
        const { status, json } = await berth('POST', `/berth/v1/join-tokens/${id}/revoke`);
        expect(status, id).toBe(400);
        expect(String(json.message), id).toMatch(/^joinTokenId:/);
      }
      const badCluster = await berth('GET', `/berth/v1/join-tokens?cluster=${'%00'.repeat(3)}`);
      expect(badCluster.status).toBe(400);
      const unknownFilter = await berth('GET', '/berth/v1/join-tokens?owner=me');
      expect(unknownFilter.status).toBe(400);
      expect(String(unknownFilter.json.message)).toMatch(/^owner:/);
    });

    it('records a registration with its cluster, instance and join token', async () => {
      const token = await runtime.mintJoinToken(CLUSTER);
      const { arn } = await join(token);
      const [registration] = await audit({ action: 'berth:RegisterContainerInstance', resource: arn });
      expect(registration).toMatchObject({ cluster: CLUSTER, result: 'Success', outcome: 'ok' });
      expect(registration!.principal).toMatch(/^join-token\/jt-[0-9a-f]{16}$/);
      expect(registration!.detail).toMatchObject({
        joinTokenId: registration!.principal.slice('join-token/'.length),
        instanceId: arn.split('/').at(-1),
      });
      expect(registration!.sourceAddress).toMatch(LOOPBACK);
    });

    it('cuts off a revoked instance at once, refuses its credential after, and shows it disconnected', async () => {
      const token = await runtime.mintJoinToken(CLUSTER);
      const { agent, arn, credential } = await join(token);
      const started = await ecs.send(
        new StartTaskCommand({ cluster: CLUSTER, taskDefinition: 'audited', containerInstances: [arn] }),
      );
      const taskArn = started.tasks![0]!.taskArn!;
      await agent.waitForFrame('runTask');

      const { status, json } = await berth(
        'POST',
        `/berth/v1/clusters/${CLUSTER}/container-instances/revoke-credential`,
        { containerInstance: arn.split('/').at(-1) },
      );
      expect(status, JSON.stringify(json)).toBe(200);
      expect(json.containerInstance).toMatchObject({ containerInstanceArn: arn, agentConnected: false });
      expect(await agent.closed).toMatchObject({ code: CLOSE_CODES.credentialRevoked });

      await expect(connectRawAgent(runtime.endpoint, CLUSTER, credential)).rejects.toThrow(/403/);
      // Its join token still works, but only ever for a new instance: never this one again.
      const again = await join(token);
      expect(again.arn).not.toBe(arn);

      const described = await ecs.send(
        new DescribeContainerInstancesCommand({ cluster: CLUSTER, containerInstances: [arn] }),
      );
      expect(described.containerInstances![0]).toMatchObject({ status: 'ACTIVE', agentConnected: false });
      // A disconnect is not a stop: the task keeps its status, as after any other disconnect.
      const task = (await ecs.send(new DescribeTasksCommand({ cluster: CLUSTER, tasks: [taskArn] })))
        .tasks![0]!;
      expect(task.lastStatus).not.toBe('STOPPED');

      const revocations = await audit({ action: 'berth:RevokeInstanceCredential' });
      expect(revocations[0]).toMatchObject({ principal: 'test-admin', resource: arn, result: 'Success' });
      const refusals = await audit({ action: 'berth:ConnectAgent', resource: arn });
      expect(refusals[0]).toMatchObject({ result: 'CredentialRevoked', outcome: 'denied' });
    });

    it('refuses a deregistered instance with 410', async () => {
      const { agent, arn, credential } = await join(await runtime.mintJoinToken(CLUSTER));
      await ecs.send(
        new DeregisterContainerInstanceCommand({ cluster: CLUSTER, containerInstance: arn, force: true }),
      );
      await agent.closed;
      await expect(connectRawAgent(runtime.endpoint, CLUSTER, credential)).rejects.toThrow(/410/);
      const refusals = await audit({ action: 'berth:ConnectAgent', resource: arn });
      expect(refusals[0]).toMatchObject({ result: 'InstanceDeregistered' });
    });

    it('answers revocations of unknown instances and clusters, and malformed bodies, with a 400 naming the field', async () => {
      const path = (cluster: string) => `/berth/v1/clusters/${cluster}/container-instances/revoke-credential`;
      const unknown = await berth('POST', path(CLUSTER), { containerInstance: 'f'.repeat(32) });
      expect(unknown.status).toBe(400);
      expect(String(unknown.json.message)).toMatch(/^containerInstance:/);
      const otherClusters = await berth('POST', path(OTHER), {
        containerInstance: `arn:aws:ecs:us-east-1:000000000000:container-instance/${CLUSTER}/${'f'.repeat(32)}`,
      });
      expect(otherClusters.status).toBe(400);
      const missing = await berth('POST', path(CLUSTER), {});
      expect(String(missing.json.message)).toMatch(/^containerInstance:/);
      const notJson = await berth('POST', path(CLUSTER), undefined);
      expect(notJson.status).toBe(400);
      const noCluster = await berth('POST', path('no-such-cluster'), { containerInstance: 'f'.repeat(32) });
      expect(noCluster.status).toBe(400);
      expect(noCluster.json.__type).toBe('ClusterNotFoundException');
    });

    it('purges events older than the retention when the persisted deadline is due', async () => {
      const deps = runtime.deps!;
      const oldAtMs = Date.now() - 91 * 24 * 60 * 60 * 1000;
      const [old] = await deps.db
        .insert(auditEvents)
        .values({
          atMs: oldAtMs,
          principalName: 'long-gone',
          action: 'ecs:RunTask',
          resource: '*',
          outcome: 'ok',
          result: 'Success',
        })
        .returning({ id: auditEvents.id });
      // Not due yet: a write leaves the old event alone.
      await deps.db
        .insert(auditPurge)
        .values({ id: 1, nextPurgeAtMs: Date.now() + 3_600_000 })
        .onConflictDoUpdate({ target: auditPurge.id, set: { nextPurgeAtMs: Date.now() + 3_600_000 } });
      await ecs.send(new CreateClusterCommand({ clusterName: CLUSTER }));
      expect(await deps.db.select().from(auditEvents).where(eq(auditEvents.id, old!.id))).toHaveLength(1);
      // Due: the next write purges it, and moves the deadline on.
      await deps.db.update(auditPurge).set({ nextPurgeAtMs: 0 });
      await ecs.send(new CreateClusterCommand({ clusterName: CLUSTER }));
      await waitFor('the old event to be purged', async () => {
        const rows = await deps.db.select().from(auditEvents).where(eq(auditEvents.id, old!.id));
        return rows.length === 0;
      });
      const [deadline] = await deps.db.select().from(auditPurge);
      expect(deadline!.nextPurgeAtMs).toBeGreaterThan(Date.now());
      expect((await audit({ action: 'ecs:CreateCluster' })).length).toBeGreaterThan(0);
    });
  });
}
