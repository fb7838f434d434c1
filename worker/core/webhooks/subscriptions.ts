/**
 * Event subscriptions: where Berth POSTs its cluster events (see event-deliveries.ts). A
 * subscription names an http(s) URL, the event types it wants, optionally one cluster and one
 * service, and gets a Standard Webhooks signing secret (`whsec_` + base64 of 32 random bytes),
 * shown once at creation and kept sealed under the server key.
 */
import { and, desc, eq, lt } from 'drizzle-orm';
import { type EventSubscriptionRow, eventDeliveries, eventSubscriptions } from '../../../db/schema';
import { clusterArn } from '../arn';
import { sealSecret } from '../auth/secret-box';
import { clusterNameOf } from '../clusters/clusters';
import type { CoreDeps } from '../deps';
import { EcsError, excerpt, invalidParameter } from '../errors';

/** The event types, named as the task-event stream names its events (its SSE `event:` field). */
export const EVENT_TYPES = [
  'task-state-change',
  'deployment-state-change',
  'service-action',
  'container-instance-state-change',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/** Subscriptions one account may have: each is fanned out on every recorded event. */
export const MAX_SUBSCRIPTIONS = 50;
const MAX_URL_LENGTH = 2048;
const SERVICE_NAME_PATTERN = /^[a-zA-Z0-9_-]{1,255}$/;
/** Deliveries `subscriptions deliveries ID` shows, newest first. */
export const DELIVERY_PAGE = 100;

export interface SubscriptionInput {
  url?: unknown;
  events?: unknown;
  cluster?: unknown;
  service?: unknown;
}

export interface SubscriptionView {
  id: string;
  url: string;
  events: EventType[];
  clusterArn?: string;
  serviceName?: string;
  state: 'ENABLED' | 'DISABLED';
  disabledReason?: string;
  createdAt: string;
}

export function subscriptionView(row: EventSubscriptionRow): SubscriptionView {
  return {
    id: row.id,
    url: row.url,
    events: JSON.parse(row.eventTypesJson) as EventType[],
    ...(row.clusterArn ? { clusterArn: row.clusterArn } : {}),
    ...(row.serviceName ? { serviceName: row.serviceName } : {}),
    state: row.state,
    ...(row.disabledReason ? { disabledReason: row.disabledReason } : {}),
    createdAt: new Date(row.createdAtMs).toISOString(),
  };
}

/** Only http and https, with a host and no credentials in it: the control plane POSTs there. */
export function validateSubscriptionUrl(value: unknown): string {
  if (typeof value !== 'string' || value.length === 0)
    throw invalidParameter('url: required, an http(s) URL');
  if (value.length > MAX_URL_LENGTH) throw invalidParameter(`url: longer than ${MAX_URL_LENGTH} characters`);
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw invalidParameter(`url: '${excerpt(value)}' is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw invalidParameter(`url: '${excerpt(value)}' is not http(s)`);
  if (url.username || url.password) throw invalidParameter('url: must not carry a user name or password');
  return url.toString();
}

function validateEventTypes(value: unknown): EventType[] {
  if (value === undefined) return [...EVENT_TYPES];
  if (!Array.isArray(value) || value.length === 0)
    throw invalidParameter(`events: a non-empty list of ${EVENT_TYPES.join(', ')}`);
  const types = new Set<EventType>();
  for (const type of value) {
    if (typeof type !== 'string' || !(EVENT_TYPES as readonly string[]).includes(type)) {
      throw invalidParameter(
        `events: '${excerpt(String(type))}' is not an event type (${EVENT_TYPES.join(', ')})`,
      );
    }
    types.add(type as EventType);
  }
  return [...types];
}

function optionalString(value: unknown, field: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw invalidParameter(`${field}: must be a string`);
  return value;
}

/** A `whsec_` secret: 32 random bytes, within Standard Webhooks' 24 to 64. */
function newSigningSecret(): string {
  return `whsec_${btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(32))))}`;
}

export async function createSubscription(
  deps: CoreDeps,
  serverKey: Uint8Array,
  input: SubscriptionInput,
): Promise<SubscriptionView & { secret: string }> {
  const url = validateSubscriptionUrl(input.url);
  const events = validateEventTypes(input.events);
  const cluster = optionalString(input.cluster, 'cluster');
  const subscribedClusterArn =
    cluster === undefined ? undefined : clusterArn(deps.config, clusterNameOf(cluster));
  const serviceName = optionalString(input.service, 'service');
  if (serviceName !== undefined && !SERVICE_NAME_PATTERN.test(serviceName)) {
    throw invalidParameter(
      `service: '${excerpt(serviceName)}' is not a service name (up to 255 letters, numbers, underscores and hyphens)`,
    );
  }
  const existing = await deps.db.$count(eventSubscriptions);
  if (existing >= MAX_SUBSCRIPTIONS) {
    throw new EcsError('LimitExceededException', `At most ${MAX_SUBSCRIPTIONS} event subscriptions.`);
  }
  const id = `sub-${deps.newId()}`;
  const secret = newSigningSecret();
  const row: EventSubscriptionRow = {
    id,
    url,
    eventTypesJson: JSON.stringify(events),
    clusterArn: subscribedClusterArn ?? null,
    serviceName: serviceName ?? null,
    secretCiphertext: await sealSecret(serverKey, secret, id),
    state: 'ENABLED',
    disabledReason: null,
    createdAtMs: deps.now(),
  };
  await deps.db.insert(eventSubscriptions).values(row);
  return { ...subscriptionView(row), secret };
}

export async function listSubscriptions(deps: CoreDeps): Promise<SubscriptionView[]> {
  const rows = await deps.db.select().from(eventSubscriptions).orderBy(eventSubscriptions.createdAtMs);
  return rows.map(subscriptionView);
}

async function requireSubscription(deps: CoreDeps, id: string): Promise<EventSubscriptionRow> {
  const [row] = await deps.db.select().from(eventSubscriptions).where(eq(eventSubscriptions.id, id));
  if (!row) throw new EcsError('ResourceNotFoundException', `Subscription ${excerpt(id)} not found.`);
  return row;
}

/** Deletes the subscription and its delivery log; its pending deliveries are never sent. */
export async function deleteSubscription(deps: CoreDeps, id: string): Promise<void> {
  await requireSubscription(deps, id);
  await deps.db.batch([
    deps.db.delete(eventSubscriptions).where(eq(eventSubscriptions.id, id)),
    deps.db.delete(eventDeliveries).where(eq(eventDeliveries.subscriptionId, id)),
  ]);
}

export interface DeliveryView {
  id: number;
  eventId: string;
  eventType: string;
  clusterArn: string;
  status: 'PENDING' | 'DELIVERED' | 'FAILED';
  attempts: number;
  createdAt: string;
  lastAttemptAt?: string;
  nextAttemptAt?: string;
  lastStatusCode?: number;
  lastError?: string;
}

/** The subscription's deliveries, newest first, a page of DELIVERY_PAGE before `beforeId` when given. */
export async function listDeliveries(
  deps: CoreDeps,
  id: string,
  beforeId?: number,
): Promise<{ subscription: SubscriptionView; deliveries: DeliveryView[]; nextToken?: string }> {
  const subscription = subscriptionView(await requireSubscription(deps, id));
  const rows = await deps.db
    .select()
    .from(eventDeliveries)
    .where(
      and(
        eq(eventDeliveries.subscriptionId, id),
        beforeId === undefined ? undefined : lt(eventDeliveries.id, beforeId),
      ),
    )
    .orderBy(desc(eventDeliveries.id))
    .limit(DELIVERY_PAGE);
  const iso = (ms: number | null) => (ms === null ? undefined : new Date(ms).toISOString());
  const deliveries = rows.map((row) => ({
    id: row.id,
    eventId: row.eventId,
    eventType: row.eventType,
    clusterArn: row.clusterArn,
    status: row.status,
    attempts: row.attempts,
    createdAt: new Date(row.createdAtMs).toISOString(),
    lastAttemptAt: iso(row.lastAttemptAtMs),
    nextAttemptAt: row.status === 'PENDING' ? iso(row.nextAttemptAtMs) : undefined,
    lastStatusCode: row.lastStatusCode ?? undefined,
    lastError: row.lastError ?? undefined,
  }));
  const last = rows.at(-1);
  return {
    subscription,
    deliveries,
    ...(rows.length === DELIVERY_PAGE && last ? { nextToken: String(last.id) } : {}),
  };
}
