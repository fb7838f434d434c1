/**
 * The Berth API for event subscriptions (worker/core/webhooks/), what `berth subscriptions …`
 * calls; every route is the one policy action `berth:ManageSubscriptions`:
 *
 *   POST   /berth/v1/subscriptions                 {"url": U, "events"?: [...], "cluster"?: C, "service"?: S}
 *                                                  → the subscription, its secret shown this once
 *   GET    /berth/v1/subscriptions                 → {"subscriptions": [...]} (never a secret)
 *   DELETE /berth/v1/subscriptions/<id>            → {}
 *   GET    /berth/v1/subscriptions/<id>/deliveries[?nextToken=N] → the delivery log, newest first
 */
import type { Hono } from 'hono';
import type { CoreDeps } from '../core/deps';
import { invalidParameter } from '../core/errors';
import {
  createSubscription,
  deleteSubscription,
  listDeliveries,
  listSubscriptions,
} from '../core/webhooks/subscriptions';
import { jsonAnswer, jsonObject } from './berth-api-json';

export const SUBSCRIPTIONS_ACTION = 'berth:ManageSubscriptions';

export function serveSubscriptions(
  app: Hono,
  options: { deps: CoreDeps; serverKey: Uint8Array; log: (line: string) => void },
) {
  const { deps, serverKey, log } = options;
  const answer = jsonAnswer(log);
  app.post(
    '/berth/v1/subscriptions',
    answer(async (c) => createSubscription(deps, serverKey, await jsonObject(c))),
  );
  app.get(
    '/berth/v1/subscriptions',
    answer(async () => ({ subscriptions: await listSubscriptions(deps) })),
  );
  app.delete(
    '/berth/v1/subscriptions/:id',
    answer(async (c) => {
      await deleteSubscription(deps, c.req.param('id') ?? '');
      return {};
    }),
  );
  app.get(
    '/berth/v1/subscriptions/:id/deliveries',
    answer((c) => {
      const token = c.req.query('nextToken');
      if (token !== undefined && !/^[1-9]\d{0,15}$/.test(token))
        throw invalidParameter('nextToken: not a token this API returned');
      return listDeliveries(deps, c.req.param('id') ?? '', token === undefined ? undefined : Number(token));
    }),
  );
}
