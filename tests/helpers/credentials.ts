/**
 * Access keys for tests, made the way an operator makes them (straight in the control plane's
 * database, with its server key), and requests signed with them by the SDK's own SigV4 signer, so
 * raw HTTP tests go through the same authentication as the SDK and the aws cli.
 */
import { SignatureV4 } from '@smithy/signature-v4';
import { WebCryptoSha256 } from '../../worker/api/auth/web-crypto-sha256';
import { createAccessKey } from '../../worker/core/auth/access-keys';
import type { CoreDeps } from '../../worker/core/deps';

export interface TestCredentials {
  accessKeyId: string;
  secretAccessKey: string;
}

export async function createTestKey(
  deps: CoreDeps,
  serverKey: Uint8Array,
  policy: string | unknown = 'admin',
  name = 'test-admin',
): Promise<TestCredentials> {
  const key = await createAccessKey(deps, serverKey, { name, policy });
  return { accessKeyId: key.accessKeyId, secretAccessKey: key.secretAccessKey };
}

/** Signs a request as the AWS SDK would (service `ecs`, region us-east-1) and returns it, ready for fetch or app.request. */
export async function signedRequest(
  url: string,
  init: { method?: string; headers?: Record<string, string>; body?: string | Uint8Array<ArrayBuffer> },
  credentials: TestCredentials,
  region = 'us-east-1',
): Promise<Request> {
  const target = new URL(url);
  const signer = new SignatureV4({ credentials, region, service: 'ecs', sha256: WebCryptoSha256 });
  const headers: Record<string, string> = { host: target.host };
  for (const [name, value] of Object.entries(init.headers ?? {})) headers[name.toLowerCase()] = value;
  const query: Record<string, string> = {};
  for (const [name, value] of target.searchParams) query[name] = value;
  const signed = await signer.sign({
    method: init.method ?? 'GET',
    protocol: target.protocol,
    hostname: target.hostname,
    port: target.port ? Number(target.port) : undefined,
    path: target.pathname,
    query,
    headers,
    body: init.body,
  });
  // Host included: fetch sends the same anyway, and app.request() sends none of its own.
  const out = new Headers();
  for (const [name, value] of Object.entries(signed.headers)) out.set(name, value);
  return new Request(url, { method: init.method ?? 'GET', headers: out, body: init.body });
}

/** fetch() with a SigV4 signature. */
export async function signedFetch(
  url: string,
  init: {
    method?: string;
    headers?: Record<string, string>;
    body?: string | Uint8Array<ArrayBuffer>;
    signal?: AbortSignal;
  },
  credentials: TestCredentials,
): Promise<Response> {
  return fetch(await signedRequest(url, init, credentials), { signal: init.signal });
}

/**
 * An admin key in a data directory a control-plane process will serve: made before the process
 * starts, with the server key the process will read from the same directory (server.key).
 */
export async function createTestKeyInDataDir(dataDir: string): Promise<TestCredentials> {
  const { openDatabase } = await import('../../db/node-database');
  const { resolveServerKey } = await import('../../worker/hosts/node/local-secrets');
  const { DEFAULT_BERTH_CONFIG, randomHexId } = await import('../../worker/core/deps');
  const database = await openDatabase({ dataDir });
  try {
    const deps = { db: database.db, config: DEFAULT_BERTH_CONFIG, now: Date.now, newId: randomHexId };
    return await createTestKey(deps, resolveServerKey(dataDir, {}));
  } finally {
    database.close();
  }
}

/** The key a first `berth server` or `berth start` wrote to `<dataDir>/credentials` (profile `berth`). */
export async function credentialsFileKey(dataDir: string): Promise<TestCredentials> {
  const { readFileSync } = await import('node:fs');
  const { join } = await import('node:path');
  const text = readFileSync(join(dataDir, 'credentials'), 'utf8');
  const profile = /\[berth\]\n([^[]*)/.exec(text)?.[1] ?? '';
  const field = (name: string) => new RegExp(`^${name}\\s*=\\s*(\\S+)$`, 'm').exec(profile)?.[1];
  const accessKeyId = field('aws_access_key_id');
  const secretAccessKey = field('aws_secret_access_key');
  if (!accessKeyId || !secretAccessKey) throw new Error(`no [berth] key in ${dataDir}/credentials`);
  return { accessKeyId, secretAccessKey };
}
