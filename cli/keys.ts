/**
 * `berth keys create --name NAME --policy admin|read-only|deployer:CLUSTER|FILE.json` prints the new
 * key as one JSON object (`accessKeyId`, `secretAccessKey`, …: the secret is shown this once);
 * `berth keys list`; `berth keys delete ID`; `berth keys deactivate|activate ID`. Calls the
 * control plane's Berth API, signed with the standard AWS credential chain (berth-api-client.ts).
 */
import { readFileSync } from 'node:fs';
import { flag, type ParsedArgs } from './args';
import { callBerthApi } from './berth-api-client';

const BUILT_IN = /^(admin|read-only|deployer:[A-Za-z0-9_-]+)$/;

export async function runKeys(args: ParsedArgs): Promise<void> {
  const [action, id] = args.positionals;
  const print = (value: unknown) => console.log(JSON.stringify(value, null, 2));
  switch (action) {
    case 'create': {
      const name = flag(args, 'name');
      const policy = flag(args, 'policy');
      if (!name) throw new Error('keys create: --name NAME is required');
      if (!policy)
        throw new Error('keys create: --policy admin|read-only|deployer:CLUSTER|FILE.json is required');
      const document = BUILT_IN.test(policy) ? policy : policyFile(policy);
      print(await callBerthApi(args, 'POST', '/berth/v1/keys', { name, policy: document }));
      return;
    }
    case 'list':
      print(await callBerthApi(args, 'GET', '/berth/v1/keys'));
      return;
    case 'delete':
    case 'activate':
    case 'deactivate': {
      if (!id) throw new Error(`keys ${action}: the access key id is required`);
      const path = `/berth/v1/keys/${encodeURIComponent(id)}`;
      print(
        action === 'delete'
          ? await callBerthApi(args, 'DELETE', path)
          : await callBerthApi(args, 'POST', `${path}/${action}`),
      );
      return;
    }
    default:
      throw new Error('keys: create, list, delete, activate or deactivate');
  }
}

function policyFile(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    throw new Error(`keys create: --policy '${path}' is neither a built-in policy nor a readable file`);
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new Error(`keys create: ${path} is not JSON`);
  }
}
