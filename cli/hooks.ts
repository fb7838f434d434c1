/**
 * `berth hooks …`: deploy hooks through the Berth API (worker/api/hooks-api.ts), signed as
 * berth-api-client.ts says. Each prints one JSON object; a refusal exits 1 with the error.
 *
 *   hooks create --cluster C --service S --provider github|gitlab|dockerhub|standard|generic
 *                [--container NAME]… [--branch PATTERN]… [--tags PATTERN[,PATTERN]]… [--repository PATTERN]…
 *                → {"id", "url", "secret" (github, gitlab, standard), …}
 *   hooks list [--cluster C]
 *   hooks delete ID
 *   hooks rotate ID [--revoke-previous]
 *   hooks deliveries ID
 *   hooks redeliver ID DELIVERY
 */
import type { ParsedArgs } from './args';
import { flag } from './args';
import { callBerthApi } from './berth-api-client';

const all = (args: ParsedArgs, name: string) =>
  (args.flags.get(name) ?? []).flatMap((value) => value.split(',')).filter((value) => value.length > 0);

export async function runHooks(args: ParsedArgs): Promise<void> {
  const [action, id, delivery] = args.positionals;
  const path = (suffix = '') => `/berth/v1/hooks/${encodeURIComponent(requireId(id, action))}${suffix}`;
  let answer: unknown;
  switch (action) {
    case 'create': {
      const service = flag(args, 'service');
      const provider = flag(args, 'provider');
      if (!service || !provider)
        throw new Error('hooks create: --service NAME and --provider P are required');
      answer = await callBerthApi(args, 'POST', '/berth/v1/hooks', {
        cluster: flag(args, 'cluster') ?? 'default',
        service,
        provider,
        containers: all(args, 'container'),
        branches: all(args, 'branch'),
        tagPatterns: all(args, 'tags'),
        repositories: all(args, 'repository'),
      });
      break;
    }
    case 'list': {
      const cluster = flag(args, 'cluster');
      answer = await callBerthApi(
        args,
        'GET',
        `/berth/v1/hooks${cluster ? `?cluster=${encodeURIComponent(cluster)}` : ''}`,
      );
      break;
    }
    case 'delete':
      answer = await callBerthApi(args, 'DELETE', path());
      break;
    case 'rotate':
      answer = await callBerthApi(args, 'POST', path('/rotate'), {
        revokePrevious: flag(args, 'revoke-previous') === 'true',
      });
      break;
    case 'deliveries':
      answer = await callBerthApi(args, 'GET', path('/deliveries'));
      break;
    case 'redeliver':
      if (!delivery) throw new Error('hooks redeliver: ID and DELIVERY are required');
      answer = await callBerthApi(
        args,
        'POST',
        path(`/deliveries/${encodeURIComponent(delivery)}/redeliver`),
        {},
      );
      break;
    default:
      throw new Error('hooks: the action must be create, list, delete, rotate, deliveries or redeliver');
  }
  console.log(JSON.stringify(answer, null, 2));
}

function requireId(id: string | undefined, action: string | undefined): string {
  if (!id) throw new Error(`hooks ${action}: the hook ID is required`);
  return id;
}
