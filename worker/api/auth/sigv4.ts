/**
 * Verifies an AWS Signature Version 4 request as AWS does, for the header form
 * (`Authorization: AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…`) and the
 * query-string form (`X-Amz-Algorithm`, `X-Amz-Credential`, `X-Amz-Signature`, …).
 *
 * Berth never builds a canonical request itself: it hands the request, reduced to the headers the
 * caller signed, to `@smithy/signature-v4` (the signer every AWS SDK for JavaScript uses, Web
 * standard only, so it runs on Workers) with the caller's secret and date, and compares the two
 * signatures in constant time. Checks first what AWS checks first: the form of the credential, the
 * scope (region and service), the 5-minute clock skew, the body's hash; each failure carries the
 * error name and message AWS answers with, so the aws cli and SDKs print what they would for AWS.
 */
import { SignatureV4 } from '@smithy/signature-v4';
import { EcsError } from '../../core/errors';
import { WebCryptoSha256 } from './web-crypto-sha256';

export const MAX_CLOCK_SKEW_MS = 5 * 60 * 1000;
const ALGORITHM = 'AWS4-HMAC-SHA256';

export interface IncomingRequest {
  method: string;
  url: URL;
  headers: Headers;
  body: Uint8Array<ArrayBuffer>;
}

export interface VerifyOptions {
  region: string;
  service: string;
  nowMs: number;
  /** The secret of an active access key, or undefined when there is no such key. */
  secretOf(accessKeyId: string): Promise<string | undefined>;
}

export class SignatureError extends EcsError {}

type SignatureErrorName =
  | 'IncompleteSignatureException'
  | 'InvalidSignatureException'
  | 'MissingAuthenticationTokenException'
  | 'UnrecognizedClientException';

const fail = (name: SignatureErrorName, message: string) => new SignatureError(name, message);

const SIGNATURE_MISMATCH =
  'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.';

interface Presented {
  accessKeyId: string;
  shortDate: string;
  region: string;
  service: string;
  signedHeaders: string[];
  signature: string;
  longDate: string;
  /** Query-string form only: how long the signature is valid, in seconds. */
  expiresInSeconds?: number;
}

/** Returns the verified access key id, or throws a SignatureError with AWS's name and message. */
export async function verifySigV4(request: IncomingRequest, options: VerifyOptions): Promise<string> {
  const presented = readSignature(request);
  if (presented.region !== options.region) {
    throw fail(
      'InvalidSignatureException',
      `Credential should be scoped to a valid region, not '${presented.region}'. `,
    );
  }
  if (presented.service !== options.service) {
    throw fail(
      'InvalidSignatureException',
      `Credential should be scoped to correct service: '${options.service}'. `,
    );
  }
  if (!presented.longDate.startsWith(presented.shortDate)) {
    throw fail(
      'InvalidSignatureException',
      `Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '${presented.shortDate}' != '${presented.longDate.slice(0, 8)}', from '${presented.longDate}'.`,
    );
  }
  checkClock(presented, options.nowMs);
  const secret = await options.secretOf(presented.accessKeyId);
  if (secret === undefined) {
    throw fail('UnrecognizedClientException', 'The security token included in the request is invalid.');
  }
  const expected = await expectedSignature(request, presented, secret);
  if (!constantTimeEqual(expected, presented.signature))
    throw fail('InvalidSignatureException', SIGNATURE_MISMATCH);
  return presented.accessKeyId;
}

function readSignature(request: IncomingRequest): Presented {
  const authorization = request.headers.get('authorization');
  if (authorization !== null) return readHeaderForm(authorization, request.headers);
  if (request.url.searchParams.has('X-Amz-Signature') || request.url.searchParams.has('X-Amz-Credential')) {
    return readQueryForm(request.url.searchParams);
  }
  throw fail('MissingAuthenticationTokenException', 'Missing Authentication Token');
}

function readHeaderForm(authorization: string, headers: Headers): Presented {
  const [algorithm, ...rest] = authorization.trim().split(/\s+/);
  if (algorithm !== ALGORITHM) {
    throw fail(
      'IncompleteSignatureException',
      `Unsupported authorization type: '${algorithm.slice(0, 32)}'; Berth accepts ${ALGORITHM} only.`,
    );
  }
  const fields = new Map<string, string>();
  for (const part of rest.join(' ').split(',')) {
    const at = part.indexOf('=');
    if (at > 0) fields.set(part.slice(0, at).trim(), part.slice(at + 1).trim());
  }
  for (const name of ['Credential', 'SignedHeaders', 'Signature']) {
    if (!fields.get(name)) {
      throw fail(
        'IncompleteSignatureException',
        `Authorization header requires '${name}' parameter. Authorization=${authorization.slice(0, 128)}`,
      );
    }
  }
  const longDate = headers.get('x-amz-date');
  if (!longDate) {
    throw fail(
      'IncompleteSignatureException',
      "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.",
    );
  }
  return {
    ...readCredential(fields.get('Credential')!),
    signedHeaders: fields.get('SignedHeaders')!.split(';'),
    signature: fields.get('Signature')!,
    longDate,
  };
}

function readQueryForm(query: URLSearchParams): Presented {
  for (const name of [
    'X-Amz-Algorithm',
    'X-Amz-Credential',
    'X-Amz-Date',
    'X-Amz-SignedHeaders',
    'X-Amz-Signature',
  ]) {
    if (!query.get(name)) {
      throw fail('IncompleteSignatureException', `AWS query-string parameters must include '${name}'.`);
    }
  }
  if (query.get('X-Amz-Algorithm') !== ALGORITHM) {
    throw fail('IncompleteSignatureException', `X-Amz-Algorithm must be ${ALGORITHM}.`);
  }
  const expires = Number(query.get('X-Amz-Expires') ?? '900');
  if (!Number.isInteger(expires) || expires < 1 || expires > 604_800) {
    throw fail(
      'IncompleteSignatureException',
      'X-Amz-Expires must be a whole number of seconds from 1 to 604800.',
    );
  }
  return {
    ...readCredential(query.get('X-Amz-Credential')!),
    signedHeaders: query.get('X-Amz-SignedHeaders')!.split(';'),
    signature: query.get('X-Amz-Signature')!,
    longDate: query.get('X-Amz-Date')!,
    expiresInSeconds: expires,
  };
}

function readCredential(credential: string) {
  const parts = credential.split('/');
  if (parts.length !== 5 || parts[4] !== 'aws4_request' || !/^\d{8}$/.test(parts[1]) || parts[0] === '') {
    throw fail(
      'IncompleteSignatureException',
      `Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/aws4_request, got '${credential.slice(0, 128)}'.`,
    );
  }
  const [accessKeyId, shortDate, region, service] = parts;
  return { accessKeyId, shortDate, region, service };
}

/** `20261129T093000Z` → epoch ms, or NaN. */
function parseAmzDate(text: string): number {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(text);
  return m ? Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]) : Number.NaN;
}

const amzDate = (ms: number) =>
  new Date(ms)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');

function checkClock(presented: Presented, nowMs: number): void {
  const signedAtMs = parseAmzDate(presented.longDate);
  if (Number.isNaN(signedAtMs)) {
    throw fail(
      'IncompleteSignatureException',
      `X-Amz-Date must be in the form YYYYMMDD'T'HHMMSS'Z', got '${presented.longDate.slice(0, 32)}'.`,
    );
  }
  if (presented.expiresInSeconds !== undefined) {
    if (nowMs > signedAtMs + presented.expiresInSeconds * 1000) {
      throw fail(
        'InvalidSignatureException',
        `Signature expired: ${presented.longDate} is now earlier than ${amzDate(nowMs - presented.expiresInSeconds * 1000)} (${amzDate(nowMs)} - ${presented.expiresInSeconds} sec.)`,
      );
    }
    if (signedAtMs > nowMs + MAX_CLOCK_SKEW_MS) {
      throw fail(
        'InvalidSignatureException',
        `Signature not yet current: ${presented.longDate} is still later than ${amzDate(nowMs + MAX_CLOCK_SKEW_MS)} (${amzDate(nowMs)} + 5 min.)`,
      );
    }
    return;
  }
  if (signedAtMs < nowMs - MAX_CLOCK_SKEW_MS) {
    throw fail(
      'InvalidSignatureException',
      `Signature expired: ${presented.longDate} is now earlier than ${amzDate(nowMs - MAX_CLOCK_SKEW_MS)} (${amzDate(nowMs)} - 5 min.)`,
    );
  }
  if (signedAtMs > nowMs + MAX_CLOCK_SKEW_MS) {
    throw fail(
      'InvalidSignatureException',
      `Signature not yet current: ${presented.longDate} is still later than ${amzDate(nowMs + MAX_CLOCK_SKEW_MS)} (${amzDate(nowMs)} + 5 min.)`,
    );
  }
}

/** The signature the caller should have sent, computed by the SDK's own signer over what they signed. */
async function expectedSignature(
  request: IncomingRequest,
  presented: Presented,
  secret: string,
): Promise<string> {
  const signed = new Set(presented.signedHeaders);
  if (!signed.has('host')) throw fail('InvalidSignatureException', "'Host' must be a signed header.");
  const headers: Record<string, string> = {};
  for (const name of signed) {
    const value = request.headers.get(name);
    if (value === null) {
      throw fail(
        'InvalidSignatureException',
        `The request does not carry the signed header '${name.slice(0, 64)}'.`,
      );
    }
    headers[name] = value;
  }
  const bodyHash = toHex(new Uint8Array(await crypto.subtle.digest('SHA-256', request.body)));
  // A hash the caller claims must be the body's, or a tampered body would pass under a signed claim.
  const claimed = headers['x-amz-content-sha256'];
  if (claimed !== undefined && claimed !== 'UNSIGNED-PAYLOAD' && claimed !== bodyHash) {
    throw fail(
      'InvalidSignatureException',
      'The provided x-amz-content-sha256 header does not match what was computed.',
    );
  }
  const query: Record<string, string | string[]> = {};
  for (const [name, value] of request.url.searchParams) {
    if (name === 'X-Amz-Signature') continue;
    const held = query[name];
    query[name] = held === undefined ? value : Array.isArray(held) ? [...held, value] : [held, value];
  }
  const signer = new SignatureV4({
    credentials: { accessKeyId: presented.accessKeyId, secretAccessKey: secret },
    region: presented.region,
    service: presented.service,
    sha256: WebCryptoSha256,
    applyChecksum: false,
  });
  const toSign = {
    method: request.method,
    protocol: request.url.protocol,
    hostname: request.url.hostname,
    port: request.url.port ? Number(request.url.port) : undefined,
    path: request.url.pathname,
    query,
    headers,
    body: request.body,
  };
  const signingDate = new Date(parseAmzDate(presented.longDate));
  if (presented.expiresInSeconds !== undefined) {
    // The query form: the signer adds the X-Amz-* parameters itself; the payload is the body's hash.
    for (const name of [
      'X-Amz-Algorithm',
      'X-Amz-Credential',
      'X-Amz-Date',
      'X-Amz-Expires',
      'X-Amz-SignedHeaders',
    ]) {
      delete query[name];
    }
    const presigned = await signer.presign(toSign, {
      signingDate,
      expiresIn: presented.expiresInSeconds,
      signableHeaders: signed,
      unhoistableHeaders: signed,
    });
    return String(presigned.query?.['X-Amz-Signature']);
  }
  // The signer takes the payload hash from this header when it is there, so the body (up to the
  // request cap) is hashed once, above, and not copied again; unsigned, it stays out of the
  // canonical headers.
  const hashUnsigned = !signed.has('x-amz-content-sha256');
  const out = await signer.sign(
    { ...toSign, headers: { ...headers, 'x-amz-content-sha256': claimed ?? bodyHash }, body: undefined },
    {
      signingDate,
      signableHeaders: signed,
      unsignableHeaders: hashUnsigned ? new Set(['x-amz-content-sha256']) : undefined,
    },
  );
  const authorization = String(out.headers.authorization ?? out.headers.Authorization);
  return authorization.slice(authorization.lastIndexOf('Signature=') + 'Signature='.length);
}

function toHex(bytes: Uint8Array): string {
  let out = '';
  for (const byte of bytes) out += byte.toString(16).padStart(2, '0');
  return out;
}

/** Compares two hex strings without an early exit, so timing says nothing about where they differ. */
export function constantTimeEqual(a: string, b: string): boolean {
  const length = Math.max(a.length, b.length);
  let difference = a.length ^ b.length;
  for (let i = 0; i < length; i++) difference |= (a.charCodeAt(i) || 0) ^ (b.charCodeAt(i) || 0);
  return difference === 0;
}
