/**
 * What the Node host keeps beside its data: the server key that encrypts secrets at rest
 * (BERTH_SERVER_KEY, else `<data dir>/server.key`, made on first start, readable by its owner
 * only), and, on a first start, an admin access key written to `<data dir>/credentials` in the AWS
 * shared-credentials format under the profile `berth`, so the aws cli and SDKs can use it at once.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createAccessKey, hasActiveKey } from '../../core/auth/access-keys';
import { newServerKey, parseServerKey } from '../../core/auth/secret-box';
import type { CoreDeps } from '../../core/deps';

export const CREDENTIALS_PROFILE = 'berth';

export function resolveServerKey(dataDir: string, env: Record<string, string | undefined>): Uint8Array {
  if (env.BERTH_SERVER_KEY) return parseServerKey(env.BERTH_SERVER_KEY, 'BERTH_SERVER_KEY');
  const file = join(dataDir, 'server.key');
  if (!existsSync(file)) {
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(file, `${newServerKey()}\n`, { mode: 0o600, flag: 'wx' });
  }
  chmodSync(file, 0o600);
  return parseServerKey(readFileSync(file, 'utf8'), file);
}

/** Creates the first admin key when there is no active key; returns the credentials file it wrote. */
export async function bootstrapAdminKey(
  deps: CoreDeps,
  serverKey: Uint8Array,
  dataDir: string,
): Promise<string | undefined> {
  if (await hasActiveKey(deps)) return undefined;
  const key = await createAccessKey(deps, serverKey, { name: 'berth-admin', policy: 'admin' });
  const file = resolve(dataDir, 'credentials');
  mkdirSync(dataDir, { recursive: true });
  writeFileSync(
    file,
    `[${CREDENTIALS_PROFILE}]\naws_access_key_id = ${key.accessKeyId}\naws_secret_access_key = ${key.secretAccessKey}\n`,
    { mode: 0o600 },
  );
  chmodSync(file, 0o600);
  return file;
}
