/**
 * Verifying an inbound delivery and reading what it asks for, per provider (ecs-services.md §6).
 * Verification runs first, on the raw body bytes, before any JSON is parsed; every secret of the
 * hook (two during a rotation) is tried, and every comparison is constant-time:
 *
 * - github:    `X-Hub-Signature-256` (HMAC-SHA256 of the body) via @octokit/webhooks-methods;
 *              events registry_package / package (published), push, workflow_run (completed).
 * - gitlab:    `X-Gitlab-Token`, the secret itself; Push Hook and Tag Push Hook.
 * - dockerhub: no signature exists: the high-entropy token in the URL path is the credential.
 * - standard:  Standard Webhooks (`webhook-id`, `webhook-timestamp`, `webhook-signature`) via the
 *              `standardwebhooks` package, whose 5-minute window refuses old timestamps.
 * - generic:   the URL token, and the tag/digest in the query or the JSON body.
 *
 * A refusal is a HookRefusal with the HTTP status and the reason the delivery log keeps.
 */
import { verify as verifyGithubSignature } from '@octokit/webhooks-methods';
import { Webhook, WebhookVerificationError } from 'standardwebhooks';

export type HookProvider = 'github' | 'gitlab' | 'dockerhub' | 'standard' | 'generic';
export const HOOK_PROVIDERS: readonly HookProvider[] = [
  'github',
  'gitlab',
  'dockerhub',
  'standard',
  'generic',
];
/** Providers whose credential is a token in the URL path rather than a signature. */
export const URL_TOKEN_PROVIDERS: readonly HookProvider[] = ['dockerhub', 'generic'];

export class HookRefusal extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
    readonly outcome: 'unauthorized' | 'refused' | 'ignored' = status === 401 ? 'unauthorized' : 'refused',
  ) {
    super(reason);
  }
}

/** What a verified delivery asks for. No tag and no digest: deploy the current image again (a branch push). */
export interface DeliveryIntent {
  event: string;
  sourceDeliveryId?: string;
  repository?: string;
  branch?: string;
  tag?: string;
  digest?: string;
  commitSha?: string;
  /** Set when the delivery is genuine but asks for nothing (a ping, a failed workflow run). */
  ignoredBecause?: string;
}

export interface RawDelivery {
  headers: Headers;
  url: URL;
  body: Uint8Array;
  /** The token of `/hooks/<id>/<token>`, for URL-token providers. */
  pathToken?: string;
}

const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const DIGEST = /^sha256:[0-9a-f]{64}$/;
const SHA = /^[0-9a-f]{7,64}$/;
const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });
const encoder = new TextEncoder();

/** Equal strings, in time that depends on neither content nor length (both are hashed first). */
export async function constantTimeEqual(a: string, b: string): Promise<boolean> {
  const [x, y] = await Promise.all(
    [a, b].map(async (s) => new Uint8Array(await crypto.subtle.digest('SHA-256', encoder.encode(s)))),
  );
  let difference = 0;
  for (let i = 0; i < x.length; i++) difference |= x[i] ^ y[i];
  return difference === 0;
}

async function anyEqual(candidate: string, secrets: readonly string[]): Promise<boolean> {
  let found = false;
  for (const secret of secrets) if (await constantTimeEqual(candidate, secret)) found = true;
  return found;
}

function bodyText(body: Uint8Array): string {
  try {
    return decoder.decode(body);
  } catch {
    throw new HookRefusal(400, 'body: not UTF-8');
  }
}

type Json = Record<string, unknown>;
function parseJsonObject(text: string): Json {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new HookRefusal(400, 'body: not valid JSON');
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new HookRefusal(400, 'body: must be a JSON object');
  }
  return parsed as Json;
}

const object = (value: unknown): Json =>
  value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Json) : {};
const string = (value: unknown): string | undefined =>
  typeof value === 'string' && value.length > 0 && value.length <= 512 ? value : undefined;

function checked(intent: DeliveryIntent): DeliveryIntent {
  if (intent.tag !== undefined && !TAG.test(intent.tag))
    throw new HookRefusal(400, `tag: '${intent.tag.slice(0, 64)}' is not an image tag`);
  if (intent.digest !== undefined && !DIGEST.test(intent.digest))
    throw new HookRefusal(400, `digest: '${intent.digest.slice(0, 80)}' is not sha256:<64 hex digits>`);
  if (intent.commitSha !== undefined && !SHA.test(intent.commitSha)) intent.commitSha = undefined;
  return intent;
}

/** `refs/heads/main` → branch main; `refs/tags/v2` → tag v2. */
function fromRef(ref: unknown): Pick<DeliveryIntent, 'branch' | 'tag'> {
  const text = string(ref) ?? '';
  if (text.startsWith('refs/heads/')) return { branch: text.slice('refs/heads/'.length) };
  if (text.startsWith('refs/tags/')) return { tag: text.slice('refs/tags/'.length) };
  return {};
}

async function github(delivery: RawDelivery, secrets: readonly string[]): Promise<DeliveryIntent> {
  const signature = delivery.headers.get('x-hub-signature-256');
  if (!signature) throw new HookRefusal(401, 'X-Hub-Signature-256: missing');
  if (!/^sha256=[0-9a-f]{64}$/.test(signature))
    throw new HookRefusal(401, 'X-Hub-Signature-256: not sha256=<64 hex digits>');
  const text = bodyText(delivery.body);
  let valid = false;
  for (const secret of secrets) {
    if (await verifyGithubSignature(secret, text, signature).catch(() => false)) valid = true;
  }
  if (!valid) throw new HookRefusal(401, 'X-Hub-Signature-256: does not match the body');
  const event = delivery.headers.get('x-github-event') ?? '';
  const base = { event, sourceDeliveryId: string(delivery.headers.get('x-github-delivery')) };
  // GitHub's other content type, application/x-www-form-urlencoded, carries the JSON as `payload`.
  const form = (delivery.headers.get('content-type') ?? '').startsWith('application/x-www-form-urlencoded');
  const body = parseJsonObject(form ? (new URLSearchParams(text).get('payload') ?? '') : text);
  const repository = string(object(body.repository).full_name);
  if (event === 'registry_package' || event === 'package') {
    const pkg = object(body.registry_package ?? body.package);
    const version = object(pkg.package_version);
    const tag = object(object(version.container_metadata).tag);
    const namespace = string(pkg.namespace) ?? string(object(pkg.owner).login);
    const name = string(pkg.name);
    const intent: DeliveryIntent = {
      ...base,
      repository: namespace && name ? `${namespace}/${name}` : repository,
      tag: string(tag.name),
      digest: string(tag.digest),
      commitSha: string(version.target_oid),
    };
    if (body.action !== 'published') return { ...intent, ignoredBecause: `action ${String(body.action)}` };
    if (!intent.tag && !intent.digest)
      return { ...intent, ignoredBecause: 'the package version has no tag or digest' };
    return checked(intent);
  }
  if (event === 'push') {
    const intent: DeliveryIntent = {
      ...base,
      repository,
      ...fromRef(body.ref),
      commitSha: string(body.after) ?? string(object(body.head_commit).id),
    };
    if (body.deleted === true) return { ...intent, ignoredBecause: 'the ref was deleted' };
    if (!intent.branch && !intent.tag) return { ...intent, ignoredBecause: 'not a branch or tag push' };
    return checked(intent);
  }
  if (event === 'workflow_run') {
    const run = object(body.workflow_run);
    const intent: DeliveryIntent = {
      ...base,
      repository,
      branch: string(run.head_branch),
      commitSha: string(run.head_sha),
    };
    if (body.action !== 'completed') return { ...intent, ignoredBecause: `action ${String(body.action)}` };
    if (run.conclusion !== 'success')
      return { ...intent, ignoredBecause: `workflow run concluded ${String(run.conclusion)}` };
    return checked(intent);
  }
  return { ...base, repository, ignoredBecause: `event '${event.slice(0, 64)}' deploys nothing` };
}

async function gitlab(delivery: RawDelivery, secrets: readonly string[]): Promise<DeliveryIntent> {
  const token = delivery.headers.get('x-gitlab-token');
  if (!token) throw new HookRefusal(401, 'X-Gitlab-Token: missing');
  if (!(await anyEqual(token, secrets))) throw new HookRefusal(401, 'X-Gitlab-Token: does not match');
  const event = delivery.headers.get('x-gitlab-event') ?? '';
  const body = parseJsonObject(bodyText(delivery.body));
  const intent: DeliveryIntent = {
    event,
    sourceDeliveryId:
      string(delivery.headers.get('idempotency-key')) ?? string(delivery.headers.get('x-gitlab-event-uuid')),
    repository: string(object(body.project).path_with_namespace),
    ...fromRef(body.ref),
    commitSha: string(body.checkout_sha) ?? string(body.after),
  };
  if (body.object_kind !== 'push' && body.object_kind !== 'tag_push')
    return {
      ...intent,
      ignoredBecause: `object_kind ${String(body.object_kind).slice(0, 64)} deploys nothing`,
    };
  if (body.checkout_sha === null) return { ...intent, ignoredBecause: 'the ref was deleted' };
  return checked(intent);
}

async function urlToken(delivery: RawDelivery, secrets: readonly string[]): Promise<void> {
  if (!delivery.pathToken) throw new HookRefusal(401, 'the URL has no token (/hooks/<id>/<token>)');
  if (!(await anyEqual(delivery.pathToken, secrets)))
    throw new HookRefusal(401, 'the URL token does not match');
}

async function dockerhub(delivery: RawDelivery, secrets: readonly string[]): Promise<DeliveryIntent> {
  await urlToken(delivery, secrets);
  const body = parseJsonObject(bodyText(delivery.body));
  const repository = string(object(body.repository).repo_name);
  const tag = string(object(body.push_data).tag);
  if (!tag) return { event: 'push', repository, ignoredBecause: 'push_data.tag missing' };
  return checked({ event: 'push', repository, tag });
}

/** `{"type": "image.pushed", "timestamp": …, "data": {"image", "tag", "digest"}}` → the intent. */
function imagePushed(body: Json, base: Pick<DeliveryIntent, 'sourceDeliveryId'>): DeliveryIntent {
  const type = string(body.type) ?? '';
  const data = object(body.data);
  const intent: DeliveryIntent = {
    ...base,
    event: type,
    repository: string(data.image),
    tag: string(data.tag),
    digest: string(data.digest),
    commitSha: string(data.commit),
  };
  if (type !== 'image.pushed')
    return { ...intent, ignoredBecause: `type '${type.slice(0, 64)}' deploys nothing` };
  if (!intent.tag && !intent.digest) throw new HookRefusal(400, 'data: a tag or a digest is required');
  return checked(intent);
}

async function standard(delivery: RawDelivery, secrets: readonly string[]): Promise<DeliveryIntent> {
  const headers: Record<string, string> = {};
  for (const name of ['webhook-id', 'webhook-timestamp', 'webhook-signature']) {
    const value = delivery.headers.get(name);
    if (!value) throw new HookRefusal(401, `${name}: missing`);
    headers[name] = value;
  }
  const text = bodyText(delivery.body);
  let reason = 'webhook-signature: does not match';
  let valid = false;
  for (const secret of secrets) {
    try {
      new Webhook(secret).verify(text, headers, { jsonParse: false });
      valid = true;
    } catch (error) {
      if (!(error instanceof WebhookVerificationError)) throw error;
      reason = `webhook: ${error.message}`;
    }
  }
  if (!valid) throw new HookRefusal(401, reason);
  return imagePushed(parseJsonObject(text), { sourceDeliveryId: headers['webhook-id'] });
}

async function generic(delivery: RawDelivery, secrets: readonly string[]): Promise<DeliveryIntent> {
  await urlToken(delivery, secrets);
  const sourceDeliveryId =
    string(delivery.headers.get('idempotency-key')) ?? string(delivery.headers.get('webhook-id'));
  const query = delivery.url.searchParams;
  if (query.has('tag') || query.has('digest')) {
    return checked({
      event: 'image.pushed',
      sourceDeliveryId,
      repository: string(query.get('image')),
      tag: string(query.get('tag')),
      digest: string(query.get('digest')),
      commitSha: string(query.get('commit')),
    });
  }
  if (delivery.body.length === 0)
    throw new HookRefusal(400, 'a tag or a digest is required (query or JSON body)');
  return imagePushed(parseJsonObject(bodyText(delivery.body)), { sourceDeliveryId });
}

const VERIFIERS: Record<
  HookProvider,
  (d: RawDelivery, secrets: readonly string[]) => Promise<DeliveryIntent>
> = {
  github,
  gitlab,
  dockerhub,
  standard,
  generic,
};

export function verifyDelivery(
  provider: HookProvider,
  delivery: RawDelivery,
  secrets: readonly string[],
): Promise<DeliveryIntent> {
  return VERIFIERS[provider](delivery, secrets);
}

/** A new secret in the form the provider expects. */
export function newHookSecret(provider: HookProvider): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  if (provider === 'standard') return `whsec_${btoa(String.fromCharCode(...bytes))}`;
  if (URL_TOKEN_PROVIDERS.includes(provider)) {
    return btoa(String.fromCharCode(...bytes))
      .replace(/\+/g, '-')
      .replace(/\//g, '_')
      .replace(/=+$/, '');
  }
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}
