/**
 * The Berth API for a cluster's container policy (worker/core/clusters/container-policy.ts), what
 * `npx berth cluster-policy` calls:
 *
 *   GET /berth/v1/clusters/<cluster>/container-policy   berth:DescribeContainerPolicy
 *   PUT /berth/v1/clusters/<cluster>/container-policy   berth:PutContainerPolicy (admins)
 *       {"allow": ["privileged", ...], "hostPaths": ["/srv/data", ...]}  replaces the policy
 *
 * Both answer `{"clusterArn", "allow", "hostPaths"}`, or an ECS error body (`__type`, `message`).
 */
import type { Context, Hono } from 'hono';
import { clusterNameOf, requireCluster } from '../core/clusters/clusters';
import { containerPolicyOutput } from '../core/clusters/put-container-policy';
import { invalidParameter } from '../core/errors';
import type { ApiContext } from './actions';
import { jsonAnswer } from './berth-api-json';

export const CONTAINER_POLICY_PATH = '/berth/v1/clusters/:cluster/container-policy';
export const CONTAINER_POLICY_ACTIONS = {
  describe: 'berth:DescribeContainerPolicy',
  put: 'berth:PutContainerPolicy',
} as const;

type Options = ApiContext & { log: (line: string) => void };

export function serveContainerPolicy(app: Hono, options: Options): void {
  const answer = jsonAnswer(options.log);
  app.get(
    CONTAINER_POLICY_PATH,
    answer(async (c) => containerPolicyOutput(await requireCluster(options.deps, c.req.param('cluster')))),
  );
  app.put(
    CONTAINER_POLICY_PATH,
    answer(async (c) => {
      const cluster = clusterNameOf(c.req.param('cluster'));
      const policy = await readJson(c);
      return options.coordinators.forCluster(cluster).execute('putContainerPolicy', { policy });
    }),
  );
}

async function readJson(c: Context): Promise<unknown> {
  try {
    return JSON.parse(await c.req.text());
  } catch {
    throw invalidParameter('body: not valid JSON');
  }
}
