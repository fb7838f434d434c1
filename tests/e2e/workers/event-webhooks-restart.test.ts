/**
 * Event webhooks across a restart of workerd: deliveries pending when the runtime stops are sent
 * after it starts again, woken by nothing but the cluster's Durable Object alarm (no agent, no API
 * call reaches the object), each accepted exactly once.
 *
 * The first retry is 10 s away, so the restart (a few seconds on a loaded machine) falls between
 * attempts. (Cloudflare retries an alarm whose handler a restart cut short; a Miniflare restart in
 * the middle of an alarm's handler can leave the alarm unfired for minutes, which would test
 * Miniflare, not Berth. With a 3 s first retry, a CI run under load restarted mid-alarm.)
 */
import {
  CreateClusterCommand,
  CreateServiceCommand,
  RegisterTaskDefinitionCommand,
} from '@aws-sdk/client-ecs';
import { afterAll, describe, expect, it } from 'vitest';
import { signedFetch } from '../../helpers/credentials';
import { waitFor } from '../../helpers/wait';
import { startWebhookReceiver, type WebhookReceiver } from '../../helpers/webhook-receiver';
import { type RunningWorkersRuntime, startWorkersRuntime } from '../../helpers/workers-runtime';

const CLUSTER = 'hooks-restart';
const PATH = '/restart';

interface Delivery {
  eventId: string;
  status: string;
  attempts: number;
}

describe('event webhooks across a restart of the Workers runtime', () => {
  let runtime: RunningWorkersRuntime | undefined;
  let receiver: WebhookReceiver | undefined;

  afterAll(async () => {
    await receiver?.close();
    await runtime?.close();
  });

  it('sends every pending delivery after the restart, driven by the alarm, each exactly once', async () => {
    runtime = await startWorkersRuntime({
      BERTH_EVENT_DELIVERY_FIRST_RETRY_MS: '10000',
      BERTH_EVENT_DELIVERY_RETRY_FOR_MS: '120000',
    });
    const { ecs, endpoint, credentials } = runtime;
    receiver = await startWebhookReceiver();
    receiver.answer(PATH, 500);
    const created = await signedFetch(
      `${endpoint}/berth/v1/subscriptions`,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ url: receiver.url(PATH), cluster: CLUSTER }),
      },
      credentials,
    );
    const subscription = (await created.json()) as { id: string; secret: string };
    const deliveries = async () =>
      (
        (await (
          await signedFetch(
            `${endpoint}/berth/v1/subscriptions/${subscription.id}/deliveries`,
            {},
            credentials,
          )
        ).json()) as { deliveries: Delivery[] }
      ).deliveries;

    await ecs.send(new CreateClusterCommand({ clusterName: CLUSTER }));
    await ecs.send(
      new RegisterTaskDefinitionCommand({
        family: 'hooked',
        containerDefinitions: [{ name: 'app', image: 'busybox', memory: 32 }],
      }),
    );
    for (const serviceName of ['one', 'two', 'three']) {
      await ecs.send(
        new CreateServiceCommand({
          cluster: CLUSTER,
          serviceName,
          taskDefinition: 'hooked',
          desiredCount: 0,
        }),
      );
    }
    const pending = await waitFor('every delivery to have failed once', async () => {
      const log = await deliveries();
      return log.length >= 3 && log.every((d) => d.status === 'PENDING' && d.attempts >= 1) && log;
    });

    await runtime.plane.restartWorker();
    receiver.answer(PATH, 200);
    const log = await waitFor(
      'the deliveries to complete after the restart',
      async () => {
        const current = await deliveries();
        return current.every((d) => d.status === 'DELIVERED') && current;
      },
      // The retry after the restart is the first back-off step (10 s) away, never more than two.
      60_000,
      100,
    );
    expect(log.map((d) => d.eventId).sort()).toEqual(pending.map((d) => d.eventId).sort());
    const accepted = receiver.accepted(PATH, subscription.secret).map((b) => b.data.id);
    expect(accepted.sort()).toEqual(log.map((d) => d.eventId).sort());
  }, 120_000);
});
