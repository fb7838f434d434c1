/**
 * The Berth API for what lets hosts in (admins), what `berth join-tokens` and `berth instances` call:
 *
 *   GET  /berth/v1/join-tokens[?cluster=C]            → {"joinTokens": [...]} (never a secret)
 *   POST /berth/v1/join-tokens/<id>/revoke            → {"joinToken": {...}}; refused at admission from now on
 *   POST /berth/v1/clusters/<cluster>/container-instances/revoke-credential  {"containerInstance": ID|ARN}
 *        → {"containerInstance": <ECS shape>, "credentialRevokedAt": ISO}; its socket is closed (4012)
 *          and its credential refused (403) from now on
 */
import type { Hono } from 'hono';
import { clusterNameOf, requireCluster } from '../core/clusters/clusters';
import { invalidParameter } from '../core/errors';
import { listJoinTokens, revokeJoinToken } from '../core/join-tokens/join-tokens';
import type { ApiContext } from './actions';
import { jsonAnswer, jsonObject } from './berth-api-json';

export const JOIN_TOKEN_ACTIONS = {
  list: 'berth:ListJoinTokens',
  revoke: 'berth:RevokeJoinToken',
} as const;

export const INSTANCE_ACTIONS = { revokeCredential: 'berth:RevokeInstanceCredential' } as const;

export function serveAgentAdmin(app: Hono, options: ApiContext & { log: (line: string) => void }) {
  const { deps, log } = options;
  const answer = jsonAnswer(log);
  app.get(
    '/berth/v1/join-tokens',
    answer(async (c) => {
      const params = new URL(c.req.url).searchParams;
      for (const name of params.keys()) {
        if (name !== 'cluster' && !name.startsWith('X-Amz-'))
          throw invalidParameter(`${name.slice(0, 64)}: not a join token filter (cluster)`);
      }
      const cluster = params.get('cluster');
      return {
        joinTokens: await listJoinTokens(deps, cluster === null ? undefined : clusterNameOf(cluster)),
      };
    }),
  );
  app.post(
    '/berth/v1/join-tokens/:id/revoke',
    answer(async (c) => {
      const id = c.req.param('id') ?? '';
      c.set('auditResource', `join-token/${id.slice(0, 64)}`);
      return { joinToken: await revokeJoinToken(deps, id) };
    }),
  );
  app.post(
    '/berth/v1/clusters/:cluster/container-instances/revoke-credential',
    answer(async (c) => {
      const cluster = await requireCluster(deps, clusterNameOf(c.req.param('cluster')));
      const body = await jsonObject(c);
      const reference = body.containerInstance;
      if (typeof reference !== 'string' || reference === '') {
        throw invalidParameter('containerInstance: the id or ARN of a container instance is required');
      }
      const output = await options.coordinators
        .forCluster(cluster.name)
        .execute('revokeInstanceCredential', { containerInstance: reference });
      if (output.containerInstance.containerInstanceArn)
        c.set('auditResource', output.containerInstance.containerInstanceArn);
      return output;
    }),
  );
}
