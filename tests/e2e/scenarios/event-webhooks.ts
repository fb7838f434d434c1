/**
 * Event webhooks, written once and run against every runtime: subscriptions made through the Berth
 * API, events made by the real AWS SDK and a hand-driven agent (no Docker needed), and a local
 * receiver that checks every delivery with the `standardwebhooks` package. What is recorded in the
 * event table is the truth each subscription's deliveries are compared with.
 */
import {
  CreateClusterCommand,
  CreateServiceCommand,
  type ECSClient,
  RegisterTaskDefinitionCommand,
  RunTaskCommand,
  UpdateContainerInstancesStateCommand,
} from '@aws-sdk/client-ecs';
import { and, asc, eq, gt, max } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { taskEvents } from '../../../db/schema';
import { signedFetch } from '../../helpers/credentials';
import { connectRawAgent, helloFrame, type RawAgent } from '../../helpers/raw-agent';
import type { RunningRuntime, RuntimeHarness } from '../../helpers/runtimes';
import { waitFor } from '../../helpers/wait';
import {
  type ReceivedDelivery,
  startWebhookReceiver,
  type WebhookReceiver,
} from '../../helpers/webhook-receiver';

/** Retries every 100 ms, 200 ms, 400 ms, … for 4 s: a failing endpoint is given up on within seconds. */
const RETRY_FOR_MS = 4_000;
const FIRST_RETRY_MS = 100;

interface Subscription {
  id: string;
  secret: string;
  state: string;
}

interface Delivery {
  eventId: string;
  eventType: string;
  status: 'PENDING' | 'DELIVERED' | 'FAILED';
  attempts: number;
  lastStatusCode?: number;
  lastError?: string;
}

interface RecordedEvent {
  rowId: number;
  id: string;
  kind: string;
  clusterArn: string;
  serviceName?: string;
}

export function defineEventWebhookScenarios(harness: RuntimeHarness) {
  describe(`event webhooks on the ${harness.name} runtime`, () => {
    let runtime: RunningRuntime;
    let ecs: ECSClient;
    let receiver: WebhookReceiver;
    const agents: RawAgent[] = [];

    beforeAll(async () => {
      runtime = await harness.start({
        eventDeliveryRetryForMs: RETRY_FOR_MS,
        eventDeliveryFirstRetryMs: FIRST_RETRY_MS,
      });
      ecs = runtime.ecs;
      receiver = await startWebhookReceiver();
      await ecs.send(
        new RegisterTaskDefinitionCommand({
          family: 'hooked',
          containerDefinitions: [{ name: 'app', image: 'busybox', memory: 32 }],
        }),
      );
    }, 120_000);

    afterAll(async () => {
      for (const agent of agents) agent.close();
      await receiver?.close();
      await runtime?.close();
    });

    async function api(method: string, path: string, body?: string) {
      const response = await signedFetch(
        `${runtime.endpoint}/berth/v1${path}`,
        { method, body, headers: body === undefined ? {} : { 'content-type': 'application/json' } },
        runtime.credentials,
      );
      return { status: response.status, json: (await response.json()) as Record<string, unknown> };
    }

    async function subscribe(input: Record<string, unknown>): Promise<Subscription> {
      const { status, json } = await api('POST', '/subscriptions', JSON.stringify(input));
      expect(status, JSON.stringify(json)).toBe(200);
      return json as unknown as Subscription;
    }

    const deliveries = async (id: string) =>
      (await api('GET', `/subscriptions/${id}/deliveries`)).json.deliveries as Delivery[];

    /** The events recorded after row `afterRowId`, read straight from the control plane's database. */
    async function recordedSince(afterRowId: number, clusterArn?: string): Promise<RecordedEvent[]> {
      const rows = await runtime.deps.db
        .select()
        .from(taskEvents)
        .where(
          and(gt(taskEvents.id, afterRowId), clusterArn ? eq(taskEvents.clusterArn, clusterArn) : undefined),
        )
        .orderBy(asc(taskEvents.id));
      return rows.map((row) => {
        const event = JSON.parse(row.eventJson) as { id: string; detail: Record<string, unknown> };
        const group = event.detail.group as string | undefined;
        return {
          rowId: row.id,
          id: event.id,
          kind: row.kind,
          clusterArn: row.clusterArn,
          serviceName:
            (event.detail.serviceName as string | undefined) ??
            (group?.startsWith('service:') ? group.slice('service:'.length) : undefined),
        };
      });
    }

    async function lastRowId(): Promise<number> {
      const [{ last }] = await runtime.deps.db.select({ last: max(taskEvents.id) }).from(taskEvents);
      return last ?? 0;
    }

    /**
     * A cluster with one event of every type: an instance registers (and is drained later), a task
     * is run on it, and a service is created (its deployment and its steady state).
     */
    async function makeEvents(cluster: string, service = 'web'): Promise<string> {
      const { cluster: created } = await ecs.send(new CreateClusterCommand({ clusterName: cluster }));
      const agent = await connectRawAgent(runtime.endpoint, cluster, await runtime.mintJoinToken(cluster));
      agents.push(agent);
      agent.send(helloFrame({ hostname: `${cluster}-host` }));
      const welcome = await agent.waitForFrame('welcome');
      await ecs.send(new RunTaskCommand({ cluster, taskDefinition: 'hooked' }));
      await ecs.send(
        new CreateServiceCommand({
          cluster,
          serviceName: service,
          taskDefinition: 'hooked',
          desiredCount: 0,
        }),
      );
      await ecs.send(
        new UpdateContainerInstancesStateCommand({
          cluster,
          containerInstances: [welcome.containerInstanceArn],
          status: 'DRAINING',
        }),
      );
      return created!.clusterArn!;
    }

    /** Waits until none of the subscription's deliveries is pending, and returns them. */
    const settled = (id: string) =>
      waitFor(
        `the deliveries of ${id} to settle`,
        async () => {
          const log = await deliveries(id);
          return log.length > 0 && log.every((d) => d.status !== 'PENDING') && log;
        },
        30_000,
        100,
      );

    it('refuses bad subscriptions with a 4xx naming the field, and stores nothing', async () => {
      const cases: [unknown, RegExp][] = [
        [{}, /^url: /],
        [{ url: 'ftp://example.com/hook' }, /^url: .*not http\(s\)/],
        [{ url: 'javascript:alert(1)' }, /^url: /],
        [{ url: 'not a url' }, /^url: .*not a URL/],
        [{ url: 'http://user:pw@example.com/' }, /^url: /],
        [{ url: `http://example.com/${'a'.repeat(3000)}` }, /^url: .*longer/],
        [{ url: 'http://example.com/', events: ['task-state-change', 'nope'] }, /^events: 'nope'/],
        [{ url: 'http://example.com/', events: [] }, /^events: /],
        [{ url: 'http://example.com/', events: 'task-state-change' }, /^events: /],
        [{ url: 'http://example.com/', cluster: 'no such name!' }, /^cluster: /],
        [{ url: 'http://example.com/', service: 'a/b' }, /^service: /],
        [{ url: 'http://example.com/', service: 7 }, /^service: /],
        [[1, 2], /^body: /],
      ];
      for (const [body, message] of cases) {
        const { status, json } = await api('POST', '/subscriptions', JSON.stringify(body));
        expect({ body, status, type: json.__type }).toEqual({
          body,
          status: 400,
          type: 'InvalidParameterException',
        });
        expect(json.message).toMatch(message);
      }
      const notJson = await api('POST', '/subscriptions', '{"url": ');
      expect([notJson.status, notJson.json.message]).toEqual([400, 'body: not valid JSON']);
      const huge = await api(
        'POST',
        '/subscriptions',
        JSON.stringify({ url: 'http://x/', pad: 'x'.repeat(1_500_000) }),
      );
      expect(huge.status).toBe(413);
      const unknown = await api('GET', '/subscriptions/sub-nope/deliveries');
      expect([unknown.status, unknown.json.__type]).toEqual([400, 'ResourceNotFoundException']);
      const badToken = await api('GET', '/subscriptions/sub-nope/deliveries?nextToken=-1');
      expect(badToken.json.message).toMatch(/^nextToken: /);
      expect((await api('GET', '/subscriptions')).json.subscriptions).toEqual([]);
    });

    it('lets only keys allowed berth:ManageSubscriptions manage subscriptions', async () => {
      const reader = (
        await api('POST', '/keys', JSON.stringify({ name: 'hooks-reader', policy: 'read-only' }))
      ).json as unknown as { accessKeyId: string; secretAccessKey: string };
      for (const [method, path] of [
        ['GET', '/subscriptions'],
        ['POST', '/subscriptions'],
        ['DELETE', '/subscriptions/sub-x'],
        ['GET', '/subscriptions/sub-x/deliveries'],
      ]) {
        const response = await signedFetch(
          `${runtime.endpoint}/berth/v1${path}`,
          { method, body: method === 'POST' ? JSON.stringify({ url: 'http://x/' }) : undefined },
          reader,
        );
        const body = (await response.json()) as { __type: string; message: string };
        expect([method, path, body.__type]).toEqual([method, path, 'AccessDeniedException']);
        expect(body.message).toContain('berth:ManageSubscriptions');
      }
      expect((await api('GET', '/subscriptions')).json.subscriptions).toEqual([]);
    });

    it('delivers every event signed, retries through an outage, and loses or repeats none', async () => {
      const path = '/outage';
      const cluster = 'hooks-outage';
      const subscription = await subscribe({ url: receiver.url(path), cluster });
      expect(subscription.id).toMatch(/^sub-[0-9a-f]{32}$/);
      expect(subscription.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
      // Down from the start, so every first attempt fails and is retried.
      receiver.answer(path, 500);
      const clusterArn = await makeEvents(cluster);
      await waitFor('retries of a failed delivery', () => {
        const attemptsById = new Map<string, number>();
        for (const r of receiver.received.filter((d) => d.path === path)) {
          const id = r.headers['webhook-id'] as string;
          attemptsById.set(id, (attemptsById.get(id) ?? 0) + 1);
        }
        return [...attemptsById.values()].some((n) => n >= 3);
      });
      receiver.answer(path, 200);
      const log = await settled(subscription.id);

      const recorded = await recordedSince(0, clusterArn);
      expect(new Set(recorded.map((e) => e.kind))).toEqual(
        new Set([
          'task-state-change',
          'deployment-state-change',
          'service-action',
          'container-instance-state-change',
        ]),
      );
      const accepted = receiver.accepted(path, subscription.secret);
      // Each recorded event accepted exactly once, under its own id, with its type and payload.
      expect(accepted.map((b) => b.data.id).sort()).toEqual(recorded.map((e) => e.id).sort());
      for (const body of accepted) {
        const event = recorded.find((e) => e.id === body.data.id)!;
        expect(body.type).toBe(event.kind);
        expect(body.data.detail).toBeTypeOf('object');
      }
      for (const r of receiver.received.filter((d) => d.path === path && d.answered === 200)) {
        expect(r.headers['webhook-id']).toBe((JSON.parse(r.body) as { data: { id: string } }).data.id);
      }
      expect(log.every((d) => d.status === 'DELIVERED')).toBe(true);
      expect(log.some((d) => d.attempts >= 3)).toBe(true);
      // Back-off: the waits between one event's attempts grow (100 ms, 200 ms, 400 ms, …).
      const attemptsById = new Map<string, ReceivedDelivery[]>();
      for (const d of receiver.received.filter((r) => r.path === path)) {
        const id = d.headers['webhook-id'] as string;
        attemptsById.set(id, [...(attemptsById.get(id) ?? []), d]);
      }
      const mostTried = [...attemptsById.values()].sort((a, b) => b.length - a.length)[0]!;
      const waits = mostTried.slice(1).map((d, i) => d.receivedAtMs - mostTried[i]!.receivedAtMs);
      expect(waits.length).toBeGreaterThanOrEqual(2);
      // Never sooner than the back-off says (timers may be a few ms early against Date.now()).
      for (const [i, wait] of waits.entries())
        expect(wait).toBeGreaterThanOrEqual(FIRST_RETRY_MS * 2 ** i - 5);
      // A tampered body fails the receiver's check: the signature covers the bytes.
      const sample = receiver.received.find((d) => d.path === path)!;
      const tampered = { ...sample, body: sample.body.replace('"data"', '"data" ') };
      const { Webhook } = await import('standardwebhooks');
      expect(() =>
        new Webhook(subscription.secret).verify(tampered.body, tampered.headers as Record<string, string>),
      ).toThrow();
    });

    it('sends each subscription only the event types, cluster and service it asked for', async () => {
      const since = await lastRowId();
      const byCluster = await subscribe({
        url: receiver.url('/by-cluster'),
        cluster: 'hooks-filter-b',
        events: ['task-state-change'],
      });
      const byService = await subscribe({
        url: receiver.url('/by-service'),
        service: 'api',
        events: ['deployment-state-change', 'service-action'],
      });
      const byType = await subscribe({
        url: receiver.url('/by-type'),
        events: ['container-instance-state-change'],
      });
      await makeEvents('hooks-filter-a', 'api');
      await makeEvents('hooks-filter-b', 'web');
      const recorded = await recordedSince(since);
      const clusterB = recorded.find((e) => e.clusterArn.endsWith('/hooks-filter-b'))!.clusterArn;
      const expected = {
        '/by-cluster': recorded.filter((e) => e.kind === 'task-state-change' && e.clusterArn === clusterB),
        '/by-service': recorded.filter(
          (e) => e.serviceName === 'api' && ['deployment-state-change', 'service-action'].includes(e.kind),
        ),
        '/by-type': recorded.filter((e) => e.kind === 'container-instance-state-change'),
      };
      for (const [path, subscription] of [
        ['/by-cluster', byCluster],
        ['/by-service', byService],
        ['/by-type', byType],
      ] as const) {
        expect(expected[path].length, path).toBeGreaterThan(0);
        await settled(subscription.id);
        const got = receiver.accepted(path, subscription.secret).map((b) => b.data.id);
        expect(got.sort(), path).toEqual(expected[path].map((e) => e.id).sort());
      }
      for (const subscription of [byCluster, byService, byType]) {
        expect((await api('DELETE', `/subscriptions/${subscription.id}`)).status).toBe(200);
      }
    });

    it('disables a subscription whose endpoint keeps failing, and queues nothing more for it', async () => {
      const path = '/always-down';
      receiver.answer(path, 503);
      const subscription = await subscribe({ url: receiver.url(path), cluster: 'hooks-down' });
      await makeEvents('hooks-down');
      const log = await waitFor(
        'the subscription to be disabled',
        async () => {
          const listed = (await api('GET', '/subscriptions')).json.subscriptions as Subscription[];
          return (
            listed.find((s) => s.id === subscription.id)?.state === 'DISABLED' && deliveries(subscription.id)
          );
        },
        RETRY_FOR_MS + 20_000,
        100,
      );
      expect(log.every((d) => d.status === 'FAILED')).toBe(true);
      const retried = log.filter((d) => d.attempts >= 2);
      expect(retried.length).toBeGreaterThan(0);
      // The one that ran out of retries says why; the rest failed with their subscription.
      expect(log.filter((d) => d.lastError === 'HTTP 503').length).toBeGreaterThan(0);
      expect(
        log.every((d) => d.lastError === 'HTTP 503' || d.lastError === 'the subscription is disabled'),
      ).toBe(true);
      expect(retried[0]!.lastStatusCode).toBe(503);
      const listed = (await api('GET', '/subscriptions')).json.subscriptions as Record<string, unknown>[];
      expect(listed.find((s) => s.id === subscription.id)!.disabledReason).toMatch(/HTTP 503/);
      expect(JSON.stringify(listed)).not.toContain('whsec_');
      // A disabled subscription gets no new deliveries, and nothing is sent to it any more.
      const sentBefore = receiver.received.filter((d) => d.path === path).length;
      await ecs.send(
        new CreateServiceCommand({
          cluster: 'hooks-down',
          serviceName: 'later',
          taskDefinition: 'hooked',
          desiredCount: 0,
        }),
      );
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect((await deliveries(subscription.id)).length).toBe(log.length);
      expect(receiver.received.filter((d) => d.path === path).length).toBe(sentBefore);
    }, 60_000);
  });
}
