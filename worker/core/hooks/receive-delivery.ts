/**
 * A delivery arriving at a hook's public URL, in the order the secure-design checklist of
 * ecs-services.md §6 asks: the hook, then its signature or token on the raw body (401), then the
 * hook's rules (403), then the dedupe by the provider's delivery id (a repeat answers 200 and
 * changes nothing), then the queue: a `queued` row and the service's deploy deadline, answered 202
 * at once. Every outcome but an unknown hook is written to the delivery log with its reason.
 */
import { and, eq, inArray } from 'drizzle-orm';
import { type DeployHookRow, type HookDeliveryRow, hookDeliveries } from '../../../db/schema';
import type { CoreDeps } from '../deps';
import { EcsError, excerpt, invalidParameter } from '../errors';
import { hookSecrets, logDelivery, requireHook } from './hooks';
import { type DeliveryIntent, HookRefusal, type RawDelivery, verifyDelivery } from './verify-delivery';

/** Deliveries larger than this are refused before they are read: room for a GitHub push of many commits, no more. */
export const MAX_HOOK_BODY_BYTES = 1024 * 1024;

export interface DeliveryAnswer {
  status: number;
  body: { deliveryId?: string; outcome?: HookDeliveryRow['outcome']; message?: string };
}

/** Starts the deploy deadline of a service in its cluster's room. */
export type EnqueueDeploy = (hook: DeployHookRow) => Promise<void>;

const patternCache = new Map<string, RegExp>();
/** `*` any run of characters (`/` included), `?` one; everything else literal. */
export function globMatches(pattern: string, value: string): boolean {
  let regex = patternCache.get(pattern);
  if (!regex) {
    const body = pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.');
    regex = new RegExp(`^${body}$`, 's');
    if (patternCache.size > 1000) patternCache.clear();
    patternCache.set(pattern, regex);
  }
  return regex.test(value);
}

/** Why the hook's rules refuse the delivery, or undefined when they allow it. */
export function ruleRefusal(hook: DeployHookRow, intent: DeliveryIntent): string | undefined {
  const branches = JSON.parse(hook.branchesJson) as string[];
  const tags = JSON.parse(hook.tagPatternsJson) as string[];
  const repositories = JSON.parse(hook.repositoriesJson) as string[];
  if (repositories.length > 0) {
    if (!intent.repository) return 'the delivery names no repository and the hook allows only some';
    if (!repositories.some((p) => globMatches(p, intent.repository!)))
      return `repository '${intent.repository}' is not allowed (${repositories.join(', ')})`;
  }
  if (
    branches.length > 0 &&
    intent.branch !== undefined &&
    !branches.some((p) => globMatches(p, intent.branch!))
  )
    return `branch '${intent.branch}' is not allowed (${branches.join(', ')})`;
  if (tags.length > 0) {
    if (intent.tag === undefined) {
      // A branch push redeploys the current image; only an image without a tag to check is refused.
      if (intent.digest !== undefined)
        return 'the delivery names a digest but no tag, and the hook allows only some tags';
    } else if (!tags.some((p) => globMatches(p, intent.tag!))) {
      return `tag '${intent.tag}' is not allowed (${tags.join(', ')})`;
    }
  }
  return undefined;
}

function logRow(deps: CoreDeps, hook: DeployHookRow, id: string, intent?: DeliveryIntent): HookDeliveryRow {
  return {
    id,
    hookId: hook.id,
    sourceDeliveryId: intent?.sourceDeliveryId ?? null,
    dedupeKey: null,
    provider: hook.provider,
    event: intent?.event ?? null,
    outcome: 'queued',
    statusCode: 202,
    reason: null,
    repository: intent?.repository ?? null,
    branch: intent?.branch ?? null,
    tag: intent?.tag ?? null,
    digest: intent?.digest ?? null,
    commitSha: intent?.commitSha ?? null,
    image: null,
    deploymentId: null,
    redeliveryOf: null,
    receivedAtMs: deps.now(),
  };
}

export const newDeliveryId = (deps: CoreDeps) => `dl${deps.newId().slice(0, 24)}`;

export async function receiveDelivery(
  deps: CoreDeps,
  serverKey: Uint8Array,
  enqueue: EnqueueDeploy,
  hookId: string,
  delivery: RawDelivery,
): Promise<DeliveryAnswer> {
  let hook: DeployHookRow;
  try {
    hook = await requireHook(deps, hookId);
  } catch {
    return { status: 404, body: { message: 'no such hook' } };
  }
  const id = newDeliveryId(deps);
  let intent: DeliveryIntent;
  try {
    intent = await verifyDelivery(hook.provider, delivery, await hookSecrets(serverKey, hook));
  } catch (error) {
    if (!(error instanceof HookRefusal)) throw error;
    await logDelivery(deps, {
      ...logRow(deps, hook, id),
      outcome: error.outcome,
      statusCode: error.status,
      reason: error.reason,
    });
    return { status: error.status, body: { deliveryId: id, outcome: error.outcome, message: error.reason } };
  }
  const row = logRow(deps, hook, id, intent);
  if (intent.ignoredBecause) {
    await logDelivery(deps, { ...row, outcome: 'ignored', statusCode: 200, reason: intent.ignoredBecause });
    return { status: 200, body: { deliveryId: id, outcome: 'ignored', message: intent.ignoredBecause } };
  }
  const refusal = ruleRefusal(hook, intent);
  if (refusal) {
    await logDelivery(deps, { ...row, outcome: 'refused', statusCode: 403, reason: refusal });
    return { status: 403, body: { deliveryId: id, outcome: 'refused', message: refusal } };
  }
  return accept(deps, enqueue, hook, { ...row, dedupeKey: intent.sourceDeliveryId ?? null });
}

/** Queues an accepted delivery (a new one, or a redelivery of a past one) unless its dedupe key was seen. */
export async function accept(
  deps: CoreDeps,
  enqueue: EnqueueDeploy,
  hook: DeployHookRow,
  row: HookDeliveryRow,
): Promise<DeliveryAnswer> {
  if (!(await logDelivery(deps, row))) {
    const [original] = await deps.db
      .select()
      .from(hookDeliveries)
      .where(and(eq(hookDeliveries.hookId, hook.id), eq(hookDeliveries.dedupeKey, row.dedupeKey!)));
    const reason = `a repeat of delivery ${original?.id ?? '(forgotten)'}: nothing done`;
    await logDelivery(deps, { ...row, dedupeKey: null, outcome: 'duplicate', statusCode: 200, reason });
    return {
      status: 200,
      body: { deliveryId: original?.id ?? row.id, outcome: 'duplicate', message: reason },
    };
  }
  try {
    await enqueue(hook);
  } catch (error) {
    const reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    await deps.db
      .update(hookDeliveries)
      .set({ outcome: 'failed', statusCode: 409, reason, dedupeKey: null })
      .where(inArray(hookDeliveries.id, [row.id]));
    return { status: 409, body: { deliveryId: row.id, outcome: 'failed', message: reason } };
  }
  return { status: 202, body: { deliveryId: row.id, outcome: 'queued' } };
}

/** Queues a past delivery again, as received (redeliveries skip verification: the caller is signed in). */
export async function redeliver(
  deps: CoreDeps,
  enqueue: EnqueueDeploy,
  hookId: string,
  deliveryId: string,
): Promise<DeliveryAnswer> {
  const hook = await requireHook(deps, hookId);
  const [past] = await deps.db
    .select()
    .from(hookDeliveries)
    .where(and(eq(hookDeliveries.hookId, hookId), eq(hookDeliveries.id, deliveryId)));
  if (!past) {
    throw new EcsError(
      'ResourceNotFoundException',
      `delivery '${excerpt(deliveryId)}' not found for hook ${hookId}`,
    );
  }
  if (!['queued', 'deployed', 'failed', 'duplicate'].includes(past.outcome)) {
    throw invalidParameter(
      `delivery: ${past.id} was ${past.outcome}; only accepted deliveries can be redelivered`,
    );
  }
  const intent: DeliveryIntent = {
    event: past.event ?? '',
    sourceDeliveryId: past.sourceDeliveryId ?? undefined,
    repository: past.repository ?? undefined,
    branch: past.branch ?? undefined,
    tag: past.tag ?? undefined,
    digest: past.digest ?? undefined,
    commitSha: past.commitSha ?? undefined,
  };
  const row = { ...logRow(deps, hook, newDeliveryId(deps), intent), redeliveryOf: past.id };
  const refusal = ruleRefusal(hook, intent);
  if (refusal) {
    await logDelivery(deps, { ...row, outcome: 'refused', statusCode: 403, reason: refusal });
    return { status: 403, body: { deliveryId: row.id, outcome: 'refused', message: refusal } };
  }
  return accept(deps, enqueue, hook, row);
}
