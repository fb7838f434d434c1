import { afterAll, describe, expect, it } from 'vitest';
import { signedFetch } from '../../helpers/credentials';
import { waitFor } from '../../helpers/wait';
import {
  createIdleServices,
  startWebhookReceiver,
  type WebhookReceiver,
} from '../../helpers/webhook-receiver';
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

    await createIdleServices(ecs, CLUSTER);
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
