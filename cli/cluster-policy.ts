/**
 * `berth cluster-policy --cluster C [--allow SETTING]… [--host-path PATH]…`: sets the cluster's
 * container policy to exactly the settings and host paths given (admins only), or, without them,
 * prints it. Either way it prints the policy as one JSON object; a refusal exits 1 with the ECS
 * error name and message.
 */
import type { ParsedArgs } from './args';
import { callBerthApi } from './berth-api-client';

const KNOWN_FLAGS = new Set(['cluster', 'allow', 'host-path', 'endpoint']);

export async function runClusterPolicy(args: ParsedArgs): Promise<void> {
  for (const name of args.flags.keys()) {
    if (!KNOWN_FLAGS.has(name)) {
      throw new Error(`cluster-policy: unknown option --${name} (use --cluster, --allow, --host-path)`);
    }
  }
  if (args.positionals.length > 0) throw new Error(`cluster-policy: unexpected '${args.positionals[0]}'`);
  const clusters = args.flags.get('cluster') ?? [];
  if (clusters.length !== 1 || clusters[0] === 'true') {
    throw new Error('cluster-policy: --cluster <name> is required, once');
  }
  const path = `/berth/v1/clusters/${encodeURIComponent(clusters[0])}/container-policy`;
  const allow = args.flags.get('allow');
  const hostPaths = args.flags.get('host-path');
  const answer =
    allow === undefined && hostPaths === undefined
      ? await callBerthApi(args, 'GET', path)
      : await callBerthApi(args, 'PUT', path, { allow: allow ?? [], hostPaths: hostPaths ?? [] });
  console.log(JSON.stringify(answer, null, 2));
}
