/**
 * Deploy hooks: created for one service of one cluster, listed, rotated, deleted, and their
 * delivery log read and replayed. A hook's secrets (or URL tokens) are sealed with the server key
 * (secret-box.ts, the hook id as associated data) and shown only when created or rotated.
 */
import { and, desc, eq, inArray, lt, notInArray } from 'drizzle-orm';
import {
  type DeployHookRow,
  deployHooks,
  type HookDeliveryRow,
  hookDeliveries,
  services,
} from '../../../db/schema';
import { clusterArn as clusterArnOf } from '../arn';
import { openSecret, sealSecret } from '../auth/secret-box';
import { requireCluster } from '../clusters/clusters';
import type { CoreDeps } from '../deps';
import { EcsError, excerpt, invalidParameter } from '../errors';
import { serviceArnOf, serviceNotFound } from '../services/service-record';
import { requireTaskDefinition, toTaskDefinition } from '../task-definitions/task-definitions';
import { HOOK_PROVIDERS, type HookProvider, newHookSecret, URL_TOKEN_PROVIDERS } from './verify-delivery';

/** Each hook keeps this many deliveries in its log; older ones are forgotten as new ones arrive. */
export const DELIVERY_LOG_LIMIT = 200;
const NAME = /^[A-Za-z0-9_-]{1,255}$/;
const PATTERN = /^[\x21-\x7e]{1,255}$/;
const MAX_PATTERNS = 20;

export interface HookSummary {
  id: string;
  cluster: string;
  service: string;
  provider: HookProvider;
  containers: string[];
  branches: string[];
  tagPatterns: string[];
  repositories: string[];
  /** How many secrets are active: 2 between a rotation and the revocation of the previous one. */
  activeSecrets: number;
  createdAt: string;
  rotatedAt?: string;
}

export interface HookWithSecret extends HookSummary {
  url: string;
  /** The secret to give the provider (GitHub, GitLab, Standard Webhooks); URL-token providers have none. */
  secret?: string;
}

export interface CreateHookInput {
  cluster?: unknown;
  service?: unknown;
  provider?: unknown;
  containers?: unknown;
  branches?: unknown;
  tagPatterns?: unknown;
  repositories?: unknown;
}

export const hookNotFound = (id: string) =>
  new EcsError('ResourceNotFoundException', `hook '${excerpt(id)}' not found`);

function patterns(value: unknown, field: string, shape = PATTERN): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || value.length > MAX_PATTERNS || !value.every((v) => typeof v === 'string')) {
    throw invalidParameter(`${field}: must be a list of at most ${MAX_PATTERNS} strings`);
  }
  for (const item of value) {
    if (!shape.test(item)) throw invalidParameter(`${field}: '${excerpt(item)}' is not a valid entry`);
  }
  return [...new Set(value as string[])];
}

export function summarize(row: DeployHookRow): HookSummary {
  return {
    id: row.id,
    cluster: row.clusterArn.slice(row.clusterArn.indexOf('/') + 1),
    service: row.serviceName,
    provider: row.provider,
    containers: JSON.parse(row.containersJson),
    branches: JSON.parse(row.branchesJson),
    tagPatterns: JSON.parse(row.tagPatternsJson),
    repositories: JSON.parse(row.repositoriesJson),
    activeSecrets: (JSON.parse(row.secretsJson) as string[]).length,
    createdAt: new Date(row.createdAtMs).toISOString(),
    ...(row.rotatedAtMs !== null ? { rotatedAt: new Date(row.rotatedAtMs).toISOString() } : {}),
  };
}

/** The public URL of a hook: a URL-token provider's token is its last path segment. */
export function hookUrl(origin: string, row: Pick<DeployHookRow, 'id' | 'provider'>, secret: string): string {
  return URL_TOKEN_PROVIDERS.includes(row.provider)
    ? `${origin}/hooks/${row.id}/${secret}`
    : `${origin}/hooks/${row.id}`;
}

function withSecret(origin: string, row: DeployHookRow, secret: string): HookWithSecret {
  return {
    ...summarize(row),
    url: hookUrl(origin, row, secret),
    ...(URL_TOKEN_PROVIDERS.includes(row.provider) ? {} : { secret }),
  };
}

export async function createHook(
  deps: CoreDeps,
  serverKey: Uint8Array,
  origin: string,
  input: CreateHookInput,
): Promise<HookWithSecret> {
  if (typeof input.cluster !== 'string' || !NAME.test(input.cluster))
    throw invalidParameter('cluster: a cluster name is required');
  if (typeof input.service !== 'string' || !NAME.test(input.service))
    throw invalidParameter('service: a service name is required');
  if (typeof input.provider !== 'string' || !(HOOK_PROVIDERS as string[]).includes(input.provider)) {
    throw invalidParameter(`provider: must be one of ${HOOK_PROVIDERS.join(', ')}`);
  }
  const provider = input.provider as HookProvider;
  const cluster = await requireCluster(deps, input.cluster);
  const containers = patterns(input.containers, 'containers', NAME);
  // The service and its containers must exist now, so a typo is an error here and not a failed delivery later.
  const [service] = await deps.db
    .select()
    .from(services)
    .where(eq(services.arn, serviceArnOf(deps, cluster.name, input.service)));
  if (service?.status !== 'ACTIVE') throw serviceNotFound();
  const definition = toTaskDefinition(await requireTaskDefinition(deps, service.taskDefinitionArn));
  const known = new Set(definition.containerDefinitions.map((c) => c.name));
  const unknown = containers.filter((name) => !known.has(name));
  if (unknown.length > 0) {
    throw invalidParameter(
      `containers: ${unknown.map((n) => `'${n}'`).join(', ')} not in ${definition.family}:${definition.revision} (${[...known].join(', ')})`,
    );
  }
  const id = `hk${deps.newId().slice(0, 24)}`;
  const secret = newHookSecret(provider);
  const row: DeployHookRow = {
    id,
    clusterArn: cluster.arn,
    serviceName: input.service,
    provider,
    containersJson: JSON.stringify(containers),
    branchesJson: JSON.stringify(patterns(input.branches, 'branches')),
    tagPatternsJson: JSON.stringify(patterns(input.tagPatterns, 'tagPatterns')),
    repositoriesJson: JSON.stringify(patterns(input.repositories, 'repositories')),
    secretsJson: JSON.stringify([await sealSecret(serverKey, secret, id)]),
    createdAtMs: deps.now(),
    rotatedAtMs: null,
  };
  await deps.db.insert(deployHooks).values(row);
  return withSecret(origin, row, secret);
}

export async function requireHook(deps: CoreDeps, id: string): Promise<DeployHookRow> {
  const [row] = await deps.db.select().from(deployHooks).where(eq(deployHooks.id, id));
  if (!row) throw hookNotFound(id);
  return row;
}

export async function listHooks(deps: CoreDeps, cluster?: string): Promise<HookSummary[]> {
  const rows = await deps.db
    .select()
    .from(deployHooks)
    .where(cluster === undefined ? undefined : eq(deployHooks.clusterArn, clusterArnOf(deps.config, cluster)))
    .orderBy(deployHooks.createdAtMs);
  return rows.map(summarize);
}

export async function deleteHook(deps: CoreDeps, id: string): Promise<void> {
  await requireHook(deps, id);
  await deps.db.batch([
    deps.db.delete(deployHooks).where(eq(deployHooks.id, id)),
    deps.db.delete(hookDeliveries).where(eq(hookDeliveries.hookId, id)),
  ]);
}

/**
 * A new secret, kept with the previous one so both verify while the provider is reconfigured;
 * `revokePrevious` drops every older one (the end of a rotation, or an emergency).
 */
export async function rotateHook(
  deps: CoreDeps,
  serverKey: Uint8Array,
  origin: string,
  id: string,
  options: { revokePrevious?: boolean } = {},
): Promise<HookWithSecret> {
  const row = await requireHook(deps, id);
  const sealed = JSON.parse(row.secretsJson) as string[];
  if (options.revokePrevious) {
    const current = await openSecret(serverKey, sealed[0], id);
    const updated = { ...row, secretsJson: JSON.stringify([sealed[0]]), rotatedAtMs: deps.now() };
    await deps.db.update(deployHooks).set(updated).where(eq(deployHooks.id, id));
    return withSecret(origin, updated, current);
  }
  const secret = newHookSecret(row.provider);
  const secrets = [await sealSecret(serverKey, secret, id), sealed[0]];
  const updated = { ...row, secretsJson: JSON.stringify(secrets), rotatedAtMs: deps.now() };
  await deps.db.update(deployHooks).set(updated).where(eq(deployHooks.id, id));
  return withSecret(origin, updated, secret);
}

export async function hookSecrets(serverKey: Uint8Array, row: DeployHookRow): Promise<string[]> {
  return Promise.all((JSON.parse(row.secretsJson) as string[]).map((s) => openSecret(serverKey, s, row.id)));
}

export interface DeliverySummary {
  id: string;
  sourceDeliveryId?: string;
  provider: string;
  event?: string;
  outcome: HookDeliveryRow['outcome'];
  statusCode: number;
  reason?: string;
  repository?: string;
  branch?: string;
  tag?: string;
  digest?: string;
  commit?: string;
  image?: string;
  deploymentId?: string;
  redeliveryOf?: string;
  receivedAt: string;
}

export function summarizeDelivery(row: HookDeliveryRow): DeliverySummary {
  const optional = {
    sourceDeliveryId: row.sourceDeliveryId,
    event: row.event,
    reason: row.reason,
    repository: row.repository,
    branch: row.branch,
    tag: row.tag,
    digest: row.digest,
    commit: row.commitSha,
    image: row.image,
    deploymentId: row.deploymentId,
    redeliveryOf: row.redeliveryOf,
  };
  return {
    id: row.id,
    provider: row.provider,
    outcome: row.outcome,
    statusCode: row.statusCode,
    receivedAt: new Date(row.receivedAtMs).toISOString(),
    ...Object.fromEntries(Object.entries(optional).filter(([, v]) => v !== null && v !== undefined)),
  };
}

/** The hook's delivery log, newest first. */
export async function listDeliveries(deps: CoreDeps, id: string): Promise<DeliverySummary[]> {
  await requireHook(deps, id);
  const rows = await deps.db
    .select()
    .from(hookDeliveries)
    .where(eq(hookDeliveries.hookId, id))
    .orderBy(desc(hookDeliveries.receivedAtMs), desc(hookDeliveries.id))
    .limit(DELIVERY_LOG_LIMIT);
  return rows.map(summarizeDelivery);
}

/** Appends to the log and forgets what falls beyond the newest DELIVERY_LOG_LIMIT of the hook (never queued ones). */
export async function logDelivery(deps: CoreDeps, row: HookDeliveryRow): Promise<boolean> {
  const inserted = await deps.db.insert(hookDeliveries).values(row).onConflictDoNothing().returning();
  const [cutoff] = await deps.db
    .select({ receivedAtMs: hookDeliveries.receivedAtMs })
    .from(hookDeliveries)
    .where(eq(hookDeliveries.hookId, row.hookId))
    .orderBy(desc(hookDeliveries.receivedAtMs))
    .limit(1)
    .offset(DELIVERY_LOG_LIMIT);
  if (cutoff) {
    await deps.db
      .delete(hookDeliveries)
      .where(
        and(
          eq(hookDeliveries.hookId, row.hookId),
          lt(hookDeliveries.receivedAtMs, cutoff.receivedAtMs),
          notInArray(hookDeliveries.outcome, ['queued']),
        ),
      );
  }
  return inserted.length > 0;
}

export async function findDeliveries(deps: CoreDeps, ids: string[]): Promise<HookDeliveryRow[]> {
  if (ids.length === 0) return [];
  return deps.db.select().from(hookDeliveries).where(inArray(hookDeliveries.id, ids));
}
