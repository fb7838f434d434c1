/**
 * Deploy hooks over HTTP (worker/core/hooks). The management API, signed like every Berth API call,
 * what `berth hooks …` calls (`berth:ManageHooks` to change, `berth:ReadHooks` to read; the cluster
 * is the hook's, for policy conditions):
 *
 *   POST   /berth/v1/hooks                   {"cluster","service","provider","containers"?,"branches"?,"tagPatterns"?,"repositories"?}
 *                                            → the hook with its `url` and, for signing providers, its `secret` (shown once)
 *   GET    /berth/v1/hooks[?cluster=C]       → {"hooks": [...]} (never a secret)
 *   DELETE /berth/v1/hooks/<id>              → {}
 *   POST   /berth/v1/hooks/<id>/rotate       {"revokePrevious"?: true} → the hook with its new `url`/`secret`
 *   GET    /berth/v1/hooks/<id>/deliveries   → {"deliveries": [...]}, newest first
 *   POST   /berth/v1/hooks/<id>/deliveries/<delivery>/redeliver → the new delivery's answer
 *
 * And the public delivery URL, outside /berth/v1 so SigV4 does not guard it: it is authenticated
 * by the provider's signature or by the token in its path (receive-delivery.ts):
 *
 *   POST /hooks/<id>           github, gitlab, standard
 *   POST /hooks/<id>/<token>   dockerhub, generic
 */
import { eq } from 'drizzle-orm';
import type { Context, Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { deployHooks } from '../../db/schema';
import { clusterNameOf } from '../core/clusters/clusters';
import type { CoreDeps } from '../core/deps';
import {
  createHook,
  deleteHook,
  listDeliveries,
  listHooks,
  requireHook,
  rotateHook,
} from '../core/hooks/hooks';
import {
  type EnqueueDeploy,
  MAX_HOOK_BODY_BYTES,
  receiveDelivery,
  redeliver,
} from '../core/hooks/receive-delivery';
import type { ApiContext } from './actions';
import type { DescribeCall } from './auth/authenticate';
import { jsonAnswer, jsonObject } from './berth-api-json';
import { renderError } from './ecs-protocol';

export const HOOK_ACTIONS = { manage: 'berth:ManageHooks', read: 'berth:ReadHooks' } as const;

const isHookApiPath = (c: Context) => /^\/berth\/v1\/hooks(\/|$)/.test(new URL(c.req.url).pathname);

/** The policy request of a hook management call; other Berth API paths go to `otherwise`. */
export function describeHookCalls(deps: CoreDeps, otherwise: DescribeCall): DescribeCall {
  return async (c) => {
    if (!isHookApiPath(c)) return otherwise(c);
    const action = c.req.method === 'GET' ? HOOK_ACTIONS.read : HOOK_ACTIONS.manage;
    const [, , , , id] = new URL(c.req.url).pathname.split('/').map(decodeURIComponent);
    let cluster: string | undefined;
    try {
      if (id) {
        const [row] = await deps.db
          .select({ clusterArn: deployHooks.clusterArn })
          .from(deployHooks)
          .where(eq(deployHooks.id, id));
        cluster = row ? clusterNameOf(row.clusterArn) : undefined;
      } else if (c.req.method === 'GET') {
        const named = c.req.query('cluster');
        cluster = named ? clusterNameOf(named) : undefined;
      } else {
        const body = JSON.parse((await c.req.text()) || '{}') as { cluster?: unknown };
        cluster = typeof body.cluster === 'string' ? clusterNameOf(body.cluster) : undefined;
      }
    } catch {
      cluster = undefined; // the handler refuses the malformed input with its own message
    }
    return { action, cluster };
  };
}

export function serveHooks(
  app: Hono,
  options: ApiContext & { serverKey: Uint8Array; log: (line: string) => void },
): void {
  const { deps, serverKey, log, coordinators } = options;
  const enqueue: EnqueueDeploy = async (hook) => {
    await coordinators
      .forCluster(clusterNameOf(hook.clusterArn))
      .execute('queueHookDeploy', { service: hook.serviceName });
  };
  const answer = jsonAnswer(log);
  const origin = (c: Context) => new URL(c.req.url).origin;

  app.post(
    '/berth/v1/hooks',
    answer(async (c) => createHook(deps, serverKey, origin(c), await jsonObject(c))),
  );
  app.get(
    '/berth/v1/hooks',
    answer(async (c) => ({ hooks: await listHooks(deps, c.req.query('cluster') || undefined) })),
  );
  app.delete(
    '/berth/v1/hooks/:id',
    answer(async (c) => {
      await deleteHook(deps, c.req.param('id') ?? '');
      return {};
    }),
  );
  app.post(
    '/berth/v1/hooks/:id/rotate',
    answer(async (c) => {
      const body = await jsonObject(c);
      return rotateHook(deps, serverKey, origin(c), c.req.param('id') ?? '', {
        revokePrevious: body.revokePrevious === true,
      });
    }),
  );
  app.get(
    '/berth/v1/hooks/:id/deliveries',
    answer(async (c) => ({ deliveries: await listDeliveries(deps, c.req.param('id') ?? '') })),
  );
  app.post('/berth/v1/hooks/:id/deliveries/:delivery/redeliver', async (c) => {
    try {
      await requireHook(deps, c.req.param('id') ?? '');
      const out = await redeliver(deps, enqueue, c.req.param('id') ?? '', c.req.param('delivery') ?? '');
      return c.json(out.body, out.status as 200);
    } catch (error) {
      return renderError(c, error, crypto.randomUUID(), log);
    }
  });

  // The public side. Its own, smaller body cap: a delivery is never large.
  app.use(
    '/hooks/*',
    bodyLimit({
      maxSize: MAX_HOOK_BODY_BYTES,
      onError: (c) => {
        c.header('Connection', 'close');
        return c.json({ message: `the body is larger than ${MAX_HOOK_BODY_BYTES} bytes` }, 413);
      },
    }),
  );
  const deliver = async (c: Context) => {
    try {
      const out = await receiveDelivery(deps, serverKey, enqueue, c.req.param('id') ?? '', {
        headers: c.req.raw.headers,
        url: new URL(c.req.url),
        body: new Uint8Array(await c.req.arrayBuffer()),
        pathToken: c.req.param('token'),
      });
      return c.json(out.body, out.status as 200);
    } catch (error) {
      log(`hook delivery failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
      return c.json({ message: 'internal error' }, 500);
    }
  };
  app.post('/hooks/:id', deliver);
  app.post('/hooks/:id/:token', deliver);
  app.all('/hooks/*', (c) => c.json({ message: 'deliveries are POST /hooks/<id>[/<token>]' }, 405));
}
