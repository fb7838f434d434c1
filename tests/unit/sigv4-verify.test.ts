/**
 * The SigV4 verifier against requests signed by the real AWS SDK (its ECS client, captured before
 * they leave): the right key passes; every way to get it wrong gets AWS's error name and message.
 */
import { ECSClient, ListClustersCommand } from '@aws-sdk/client-ecs';
import { SignatureV4 } from '@smithy/signature-v4';
import { describe, expect, it } from 'vitest';
import { type IncomingRequest, verifySigV4 } from '../../worker/api/auth/sigv4';
import { WebCryptoSha256 } from '../../worker/api/auth/web-crypto-sha256';

const KEY = {
  accessKeyId: 'BKIATESTKEY000000001',
  secretAccessKey: 'the-secret-of-the-test-key-0000000000000',
};
const REGION = 'us-east-1';

/** Signs a ListClusters call with the SDK and returns it as the control plane would receive it. */
async function sdkSigned(credentials = KEY, region = REGION): Promise<IncomingRequest> {
  let captured: IncomingRequest | undefined;
  const client = new ECSClient({
    region,
    endpoint: 'http://127.0.0.1:8787',
    credentials,
    maxAttempts: 1,
    requestHandler: {
      handle: async (request: {
        method: string;
        hostname: string;
        port?: number;
        path: string;
        headers: Record<string, string>;
        body?: string;
      }) => {
        const url = new URL(
          `http://${request.hostname}${request.port ? `:${request.port}` : ''}${request.path}`,
        );
        captured = {
          method: request.method,
          url,
          headers: new Headers(request.headers),
          body: new TextEncoder().encode(request.body ?? ''),
        };
        throw new Error('captured');
      },
    } as never,
  });
  await client.send(new ListClustersCommand({})).catch(() => undefined);
  if (!captured) throw new Error('the SDK sent nothing');
  return captured;
}

const options = (overrides: Partial<Parameters<typeof verifySigV4>[1]> = {}) => ({
  region: REGION,
  service: 'ecs',
  nowMs: Date.now(),
  secretOf: async (id: string) => (id === KEY.accessKeyId ? KEY.secretAccessKey : undefined),
  ...overrides,
});

const refusal = (promise: Promise<unknown>) =>
  promise.then(
    () => {
      throw new Error('verified, but should have been refused');
    },
    (error: Error & { errorName?: string }) => ({ name: error.errorName, message: error.message }),
  );

describe('SigV4 verification', () => {
  it('accepts a request the SDK signed with an active key, and names the key', async () => {
    expect(await verifySigV4(await sdkSigned(), options())).toBe(KEY.accessKeyId);
  });

  it('refuses an unknown key id as UnrecognizedClientException', async () => {
    const out = await refusal(
      verifySigV4(await sdkSigned({ ...KEY, accessKeyId: 'BKIAUNKNOWN' }), options()),
    );
    expect(out).toEqual({
      name: 'UnrecognizedClientException',
      message: 'The security token included in the request is invalid.',
    });
  });

  it('refuses a wrong secret as InvalidSignatureException', async () => {
    const out = await refusal(verifySigV4(await sdkSigned({ ...KEY, secretAccessKey: 'wrong' }), options()));
    expect(out.name).toBe('InvalidSignatureException');
    expect(out.message).toMatch(
      /^The request signature we calculated does not match the signature you provided/,
    );
  });

  it('refuses a request signed 10 minutes ago, and one dated 10 minutes ahead', async () => {
    const request = await sdkSigned();
    const late = await refusal(verifySigV4(request, options({ nowMs: Date.now() + 10 * 60_000 })));
    expect(late.name).toBe('InvalidSignatureException');
    expect(late.message).toMatch(
      /^Signature expired: \d{8}T\d{6}Z is now earlier than \d{8}T\d{6}Z \(\d{8}T\d{6}Z - 5 min\.\)$/,
    );
    const early = await refusal(verifySigV4(request, options({ nowMs: Date.now() - 10 * 60_000 })));
    expect(early.message).toMatch(/^Signature not yet current/);
  });

  it('refuses a tampered body, a tampered signed header and a changed path', async () => {
    const body = await sdkSigned();
    body.body = new TextEncoder().encode('{"maxResults":99}');
    expect((await refusal(verifySigV4(body, options()))).name).toBe('InvalidSignatureException');
    const header = await sdkSigned();
    header.headers.set('x-amz-target', 'AmazonEC2ContainerServiceV20141113.DeleteCluster');
    expect((await refusal(verifySigV4(header, options()))).name).toBe('InvalidSignatureException');
    const path = await sdkSigned();
    path.url = new URL('/other', path.url);
    expect((await refusal(verifySigV4(path, options()))).name).toBe('InvalidSignatureException');
  });

  it('refuses a request without credentials, and malformed ones, as AWS does', async () => {
    const bare = await sdkSigned();
    bare.headers.delete('authorization');
    expect(await refusal(verifySigV4(bare, options()))).toEqual({
      name: 'MissingAuthenticationTokenException',
      message: 'Missing Authentication Token',
    });
    const cases: [string, RegExp][] = [
      ['AWS4-HMAC-SHA256 SignedHeaders=host, Signature=00', /requires 'Credential' parameter/],
      [
        'AWS4-HMAC-SHA256 Credential=a/b/c, SignedHeaders=host, Signature=00',
        /exactly 5 slash-delimited elements/,
      ],
      ['Basic dXNlcjpwYXNz', /Unsupported authorization type: 'Basic'/],
    ];
    for (const [authorization, message] of cases) {
      const request = await sdkSigned();
      request.headers.set('authorization', authorization);
      const out = await refusal(verifySigV4(request, options()));
      expect(out.name).toBe('IncompleteSignatureException');
      expect(out.message).toMatch(message);
    }
  });

  it('refuses a credential scoped to another region or service', async () => {
    const region = await refusal(verifySigV4(await sdkSigned(KEY, 'eu-west-1'), options()));
    expect(region).toEqual({
      name: 'InvalidSignatureException',
      message: "Credential should be scoped to a valid region, not 'eu-west-1'. ",
    });
    const service = await refusal(verifySigV4(await sdkSigned(), options({ service: 'sqs' })));
    expect(service.message).toBe("Credential should be scoped to correct service: 'sqs'. ");
  });

  it('accepts the query-string form the signer presigns, and refuses it once expired', async () => {
    const signer = new SignatureV4({
      credentials: KEY,
      region: REGION,
      service: 'ecs',
      sha256: WebCryptoSha256,
    });
    const presigned = await signer.presign(
      {
        method: 'GET',
        protocol: 'http:',
        hostname: '127.0.0.1',
        port: 8787,
        path: '/berth/v1/x',
        query: {},
        headers: { host: '127.0.0.1:8787' },
      },
      { expiresIn: 60 },
    );
    const url = new URL('http://127.0.0.1:8787/berth/v1/x');
    for (const [name, value] of Object.entries(presigned.query ?? {}))
      url.searchParams.set(name, String(value));
    const request = {
      method: 'GET',
      url,
      headers: new Headers({ host: '127.0.0.1:8787' }),
      body: new Uint8Array(),
    };
    expect(await verifySigV4(request, options())).toBe(KEY.accessKeyId);
    const expired = await refusal(verifySigV4(request, options({ nowMs: Date.now() + 120_000 })));
    expect(expired.message).toMatch(/^Signature expired: .* - 60 sec\.\)$/);
  });
});
