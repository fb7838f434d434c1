/**
 * Event webhooks across a kill -9 of the control plane: `berth server` runs as its own process, a
 * subscription is made with `berth subscriptions create` as a user makes one, and its endpoint is
 * down while events are recorded. The server is killed with deliveries pending; restarted on the
 * same database, it delivers every one of them, each accepted exactly once, signed with the secret
 * the CLI printed.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { ECSClient } from '@aws-sdk/client-ecs';
import { afterAll, describe, expect, it } from 'vitest';
import { BERTH_BIN } from '../../helpers/berth-process';
import { ecsClientFor } from '../../helpers/control-plane';
import { credentialsFileKey } from '../../helpers/credentials';
import { freePort, type ServerProcess, spawnServer } from '../../helpers/server-process';
import { waitFor } from '../../helpers/wait';
import {
  createIdleServices,
  startWebhookReceiver,
  type WebhookReceiver,
} from '../../helpers/webhook-receiver';

const run = promisify(execFile);
const CLUSTER = 'hooks-restart';
const PATH = '/restart';
/** Retries soon and for long: the deliveries must outlive the restart, not run out of time. */
const ENV = { BERTH_EVENT_DELIVERY_FIRST_RETRY_MS: '200', BERTH_EVENT_DELIVERY_RETRY_FOR_MS: '120000' };

interface Delivery {
  eventId: string;
  status: string;
  attempts: number;
}

describe('event webhooks across a kill -9 of the control plane', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'berth-hooks-restart-'));
  let server: ServerProcess | undefined;
  let receiver: WebhookReceiver | undefined;
  const clients: ECSClient[] = [];

  afterAll(async () => {
    for (const client of clients) client.destroy();
    await server?.kill('SIGKILL');
    await receiver?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const berth = async (...args: string[]) =>
    JSON.parse(
      (
        await run(process.execPath, [BERTH_BIN, 'subscriptions', ...args], {
          env: {
            ...process.env,
            BERTH_ENDPOINT: server!.url,
            AWS_SHARED_CREDENTIALS_FILE: join(dataDir, 'credentials'),
            AWS_PROFILE: 'berth',
            AWS_ACCESS_KEY_ID: '',
            AWS_SECRET_ACCESS_KEY: '',
          },
        })
      ).stdout,
    );
  const deliveries = async (id: string) => (await berth('deliveries', id)).deliveries as Delivery[];

  it('delivers every pending event after the restart, each exactly once', async () => {
    const port = await freePort();
    server = await spawnServer({ dataDir, port, env: ENV });
    receiver = await startWebhookReceiver();
    receiver.answer(PATH, 500);

    const subscription = await berth(
      'create',
      '--url',
      receiver.url(PATH),
      '--events',
      'deployment-state-change,service-action',
      '--cluster',
      CLUSTER,
    );
    expect(subscription).toMatchObject({
      id: expect.stringMatching(/^sub-/),
      secret: expect.stringMatching(/^whsec_/),
      events: ['deployment-state-change', 'service-action'],
      state: 'ENABLED',
    });

    const ecs = ecsClientFor(server.url, await credentialsFileKey(dataDir));
    clients.push(ecs);
    await createIdleServices(ecs, CLUSTER);
    // Every delivery tried and failed at least once, none delivered: then the server dies.
    const pending = await waitFor('every delivery to have failed once', async () => {
      const log = await deliveries(subscription.id);
      return log.length >= 3 && log.every((d) => d.status === 'PENDING' && d.attempts >= 1) && log;
    });
    await server.kill('SIGKILL');
    expect(receiver.received.every((r) => r.answered === 500)).toBe(true);

    receiver.answer(PATH, 200);
    server = await spawnServer({ dataDir, port, env: ENV });
    const log = await waitFor(
      'the deliveries to complete after the restart',
      async () => {
        const current = await deliveries(subscription.id);
        return current.every((d) => d.status === 'DELIVERED') && current;
      },
      // The retry after the restart may be a few back-off steps away (seconds), never more.
      60_000,
      100,
    );
    expect(log.map((d) => d.eventId).sort()).toEqual(pending.map((d) => d.eventId).sort());
    const accepted = receiver.accepted(PATH, subscription.secret).map((b) => b.data.id);
    expect(accepted.sort()).toEqual(log.map((d) => d.eventId).sort());

    expect((await berth('list')).subscriptions.map((s: { id: string }) => s.id)).toEqual([subscription.id]);
    expect(await berth('delete', subscription.id)).toEqual({});
    expect((await berth('list')).subscriptions).toEqual([]);
  }, 90_000);
});
