/**
 * The Berth API for access keys (admins: `berth:*AccessKey*` actions), what `berth keys …` calls:
 *
 *   POST   /berth/v1/keys                  {"name": N, "policy": "admin"|"read-only"|"deployer:C"|{document}}
 *                                          → the key, its secret shown this once
 *   GET    /berth/v1/keys                  → {"accessKeys": [...]} (never a secret)
 *   POST   /berth/v1/keys/<id>/deactivate  → the key; it stops working at once
 *   POST   /berth/v1/keys/<id>/activate    → the key
 *   DELETE /berth/v1/keys/<id>             → {}
 */
import type { Hono } from 'hono';
import {
  createAccessKey,
  deleteAccessKey,
  listAccessKeys,
  setAccessKeyStatus,
} from '../core/auth/access-keys';
import type { CoreDeps } from '../core/deps';
import { jsonAnswer, jsonObject } from './berth-api-json';

export const ACCESS_KEY_ACTIONS = {
  create: 'berth:CreateAccessKey',
  list: 'berth:ListAccessKeys',
  update: 'berth:UpdateAccessKey',
  delete: 'berth:DeleteAccessKey',
} as const;

export function serveAccessKeys(
  app: Hono,
  options: { deps: CoreDeps; serverKey: Uint8Array; log: (line: string) => void },
) {
  const { deps, serverKey, log } = options;
  const answer = jsonAnswer(log);
  app.post(
    '/berth/v1/keys',
    answer(async (c) => {
      const body = await jsonObject(c);
      return createAccessKey(deps, serverKey, { name: body.name as string, policy: body.policy });
    }),
  );
  app.get(
    '/berth/v1/keys',
    answer(async () => ({ accessKeys: await listAccessKeys(deps) })),
  );
  app.post(
    '/berth/v1/keys/:id/:change{activate|deactivate}',
    answer((c) =>
      setAccessKeyStatus(
        deps,
        c.req.param('id') ?? '',
        c.req.param('change') === 'activate' ? 'Active' : 'Inactive',
      ),
    ),
  );
  app.delete(
    '/berth/v1/keys/:id',
    answer(async (c) => {
      await deleteAccessKey(deps, c.req.param('id') ?? '');
      return {};
    }),
  );
}
