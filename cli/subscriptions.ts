/**
 * `berth subscriptions create --url URL [--events TYPE,…] [--cluster C] [--service S]` prints the
 * new subscription as one JSON object (`id`, `secret`, …: the `whsec_` secret is shown this once);
 * `berth subscriptions list`; `berth subscriptions delete ID`; `berth subscriptions deliveries ID`
 * (the delivery log, newest first). Calls the Berth API, signed as berth-api-client.ts says.
 */
import type { ParsedArgs } from './args';
import { flag } from './args';
import { callBerthApi } from './berth-api-client';

export async function runSubscriptions(args: ParsedArgs): Promise<void> {
  const [action, id] = args.positionals;
  const print = (value: unknown) => console.log(JSON.stringify(value, null, 2));
  switch (action) {
    case 'create': {
      const url = flag(args, 'url');
      if (!url) throw new Error('subscriptions create: --url URL is required');
      // `--events a,b` and `--events a --events b` both work; none means every type.
      const events = args.flags
        .get('events')
        ?.flatMap((value) => value.split(','))
        .map((value) => value.trim())
        .filter((value) => value !== '');
      print(
        await callBerthApi(args, 'POST', '/berth/v1/subscriptions', {
          url,
          ...(events ? { events } : {}),
          ...(flag(args, 'cluster') ? { cluster: flag(args, 'cluster') } : {}),
          ...(flag(args, 'service') ? { service: flag(args, 'service') } : {}),
        }),
      );
      return;
    }
    case 'list':
      print(await callBerthApi(args, 'GET', '/berth/v1/subscriptions'));
      return;
    case 'delete':
    case 'deliveries': {
      if (!id) throw new Error(`subscriptions ${action}: the subscription id is required`);
      const path = `/berth/v1/subscriptions/${encodeURIComponent(id)}`;
      print(
        action === 'delete'
          ? await callBerthApi(args, 'DELETE', path)
          : await callBerthApi(args, 'GET', `${path}/deliveries`),
      );
      return;
    }
    default:
      throw new Error('subscriptions: create, list, delete or deliveries');
  }
}
