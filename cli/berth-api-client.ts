/**
 * How the `berth` CLI calls the control plane's Berth API: at --endpoint or BERTH_ENDPOINT
 * (default http://127.0.0.1:8787), signed with SigV4 by the same signer as the AWS SDKs, with
 * credentials from the standard AWS chain (environment, AWS_PROFILE, the shared credentials file,
 * …), so `AWS_SHARED_CREDENTIALS_FILE=.berth/credentials AWS_PROFILE=berth` works as for the aws cli.
 */
import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { SignatureV4 } from '@smithy/signature-v4';
import { WebCryptoSha256 } from '../worker/api/auth/web-crypto-sha256';
import { flag, type ParsedArgs } from './args';

export function endpointOf(args: ParsedArgs): string {
  return (flag(args, 'endpoint') ?? process.env.BERTH_ENDPOINT ?? 'http://127.0.0.1:8787').replace(
    /\/+$/,
    '',
  );
}

/** Sends a signed request; returns the parsed JSON answer, or throws `<ErrorName>: <message>`. */
export async function callBerthApi(
  args: ParsedArgs,
  method: 'GET' | 'POST' | 'PUT' | 'DELETE',
  path: string,
  body?: unknown,
): Promise<unknown> {
  const response = await fetchBerthApi(args, method, path, body);
  const answer = (await response.json().catch(() => ({}))) as { __type?: string; message?: string };
  if (!response.ok) throw new Error(`${answer.__type ?? `HTTP ${response.status}`}: ${answer.message ?? ''}`);
  return answer;
}

/** Sends a signed request and returns the response as it is (streams: exec, logs). */
export async function fetchBerthApi(
  args: ParsedArgs,
  method: 'GET' | 'POST' | 'PUT' | 'DELETE',
  path: string,
  body?: unknown,
): Promise<Response> {
  const url = new URL(`${endpointOf(args)}${path}`);
  const signer = new SignatureV4({
    credentials: defaultProvider(),
    region: process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1',
    service: 'ecs',
    sha256: WebCryptoSha256,
  });
  const text = body === undefined ? undefined : JSON.stringify(body);
  const query: Record<string, string> = {};
  for (const [name, value] of url.searchParams) query[name] = value;
  const signed = await signer.sign({
    method,
    protocol: url.protocol,
    hostname: url.hostname,
    port: url.port ? Number(url.port) : undefined,
    path: url.pathname,
    query,
    headers: { host: url.host, ...(text === undefined ? {} : { 'content-type': 'application/json' }) },
    body: text,
  });
  return fetch(url, { method, headers: signed.headers, body: text });
}
