/**
 * What lets hosts in, through the Berth API (admins):
 *   berth join-tokens list [--cluster C]     the tokens (id, cluster, created, expires, uses left,
 *                                            revoked, status), never a secret; also `join-token list`
 *   berth join-tokens revoke ID              admission refuses it from now on (401)
 *   berth instances revoke --cluster C ID|ARN
 *                                            cuts the instance's agent off at once; its credential is
 *                                            refused from then on and the agent exits
 */
import { flag, type ParsedArgs } from './args';
import { callBerthApi } from './berth-api-client';

const print = (value: unknown) => console.log(JSON.stringify(value, null, 2));

interface JoinTokenSummary {
  id: string;
  cluster: string;
  createdAt: string;
  expiresAt: string | null;
  usesLeft: number | null;
  revoked: boolean;
  status: string;
}

export async function runJoinTokens(args: ParsedArgs): Promise<void> {
  const [action, id] = args.positionals;
  switch (action) {
    case 'list': {
      const cluster = flag(args, 'cluster');
      const query = cluster === undefined ? '' : `?${new URLSearchParams({ cluster })}`;
      const { joinTokens } = (await callBerthApi(args, 'GET', `/berth/v1/join-tokens${query}`)) as {
        joinTokens: JoinTokenSummary[];
      };
      if (args.flags.has('json')) return print({ joinTokens });
      console.log(joinTokenTable(joinTokens));
      return;
    }
    case 'revoke': {
      if (!id) throw new Error('join-tokens revoke: the join token id is required (from join-tokens list)');
      print(await callBerthApi(args, 'POST', `/berth/v1/join-tokens/${encodeURIComponent(id)}/revoke`));
      return;
    }
    default:
      throw new Error('join-tokens: list [--cluster C] [--json] | revoke ID');
  }
}

function joinTokenTable(tokens: JoinTokenSummary[]): string {
  if (tokens.length === 0) return 'no join tokens';
  const header = ['ID', 'CLUSTER', 'CREATED', 'EXPIRES', 'USES LEFT', 'REVOKED', 'STATUS'];
  const rows = tokens.map((t) => [
    t.id,
    t.cluster,
    t.createdAt,
    t.expiresAt ?? 'never',
    t.usesLeft === null ? 'unlimited' : String(t.usesLeft),
    t.revoked ? 'yes' : 'no',
    t.status,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

export async function runInstances(args: ParsedArgs): Promise<void> {
  const [action, instance] = args.positionals;
  if (action !== 'revoke') throw new Error('instances: revoke --cluster C INSTANCE_ID_OR_ARN');
  const cluster = flag(args, 'cluster');
  if (!cluster) throw new Error('instances revoke: --cluster NAME is required');
  if (!instance) throw new Error('instances revoke: the container instance id or ARN is required');
  print(
    await callBerthApi(
      args,
      'POST',
      `/berth/v1/clusters/${encodeURIComponent(cluster)}/container-instances/revoke-credential`,
      { containerInstance: instance },
    ),
  );
}
