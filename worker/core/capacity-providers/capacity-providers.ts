/**
 * Capacity providers as Berth has them: account-level, like ECS's, but each one a pool of the
 * container instances that carry the attribute `berth.capacity-provider` with its name (set by the
 * agent's `--capacity-provider`, or PutAttributes). There are no Auto Scaling groups, so the
 * `autoScalingGroupProvider` ECS requires is stored and described back and scales nothing.
 *
 * This file holds what every capacity provider action shares: ECS's naming rules, reading a
 * reference (name or ARN), looking a provider up and its ECS shape. The writes are one file each
 * (create.ts, update.ts, delete.ts; the cluster's association is a cluster command).
 */
import { eq, inArray } from 'drizzle-orm';
import { type CapacityProviderRow, type ClusterRow, capacityProviders } from '../../../db/schema';
import type {
  AutoScalingGroupProvider,
  CapacityProvider,
  CapacityProviderStrategyItem,
  Tag,
} from '../../ecs-types.generated';
import { capacityProviderArn, parseEcsArn } from '../arn';
import type { CoreDeps } from '../deps';
import { clientError, invalidParameter } from '../errors';

const NAME_PATTERN = /^[a-zA-Z0-9_-]{1,255}$/;
/** ECS keeps these prefixes for its own providers; a new name may not start with any, in any case. */
const RESERVED_PREFIXES = ['aws', 'ecs', 'fargate'];
/** AWS Fargate's providers, which exist in every ECS account and which Berth does not have. */
export const FARGATE_PROVIDERS: readonly string[] = ['FARGATE', 'FARGATE_SPOT'];

/** The name CreateCapacityProvider may give: ECS's characters, length and reserved prefixes. */
export function validateNewCapacityProviderName(name: string, field = 'name'): void {
  if (!NAME_PATTERN.test(name)) {
    throw invalidParameter(
      `${field}: up to 255 letters (uppercase and lowercase), numbers, underscores, and hyphens are allowed`,
    );
  }
  const reserved = RESERVED_PREFIXES.find((prefix) => name.toLowerCase().startsWith(prefix));
  if (reserved) {
    throw invalidParameter(
      `${field}: a capacity provider name can't be prefixed with "aws", "ecs", or "fargate" ('${name}' starts with "${reserved}")`,
    );
  }
}

/** FARGATE and FARGATE_SPOT name AWS Fargate, which Berth does not have: say so instead of "not found". */
export function refuseFargate(name: string, field: string): void {
  if (FARGATE_PROVIDERS.includes(name)) {
    throw invalidParameter(
      `${field}: ${name} is AWS Fargate's capacity provider, which Berth does not have; Berth's capacity providers are pools of container instances (CreateCapacityProvider)`,
    );
  }
}

/**
 * A capacity provider reference (short name or full ARN) as the name it denotes here, or
 * undefined for the ARN of a provider in another account or region, which names nothing here.
 */
export function capacityProviderNameOf(deps: CoreDeps, reference: string, field: string): string | undefined {
  const parsed = parseEcsArn(reference);
  if (parsed && parsed.resourceType !== 'capacity-provider') {
    throw invalidParameter(`${field}: '${reference.slice(0, 64)}' is not a capacity provider ARN`);
  }
  const name = parsed ? parsed.path.join('/') : reference;
  refuseFargate(name, field);
  if (!NAME_PATTERN.test(name)) {
    throw invalidParameter(`${field}: '${name.slice(0, 64)}' is not a capacity provider name or ARN`);
  }
  if (parsed && reference !== capacityProviderArn(deps.config, name)) return undefined;
  return name;
}

export async function findCapacityProviders(deps: CoreDeps, names: string[]): Promise<CapacityProviderRow[]> {
  if (names.length === 0) return [];
  return deps.db.select().from(capacityProviders).where(inArray(capacityProviders.name, names));
}

/** The ACTIVE provider a call names, or ECS's ClientException. */
export async function requireActiveCapacityProvider(
  deps: CoreDeps,
  reference: string,
  field: string,
): Promise<CapacityProviderRow> {
  const name = capacityProviderNameOf(deps, reference, field);
  const [row] = name
    ? await deps.db.select().from(capacityProviders).where(eq(capacityProviders.name, name))
    : [];
  if (row?.status !== 'ACTIVE') {
    throw clientError(
      `The specified capacity provider does not exist. Specify a valid name or ARN and try again. (${field}: '${reference.slice(0, 300)}')`,
    );
  }
  return row;
}

export const capacityProviderArnOf = (deps: CoreDeps, name: string) => capacityProviderArn(deps.config, name);

/** ECS's CapacityProvider shape. Tags only when asked for, as DescribeCapacityProviders' `include` says. */
export function toEcsCapacityProvider(
  row: CapacityProviderRow,
  options: { tags: boolean },
): CapacityProvider {
  return {
    capacityProviderArn: row.arn,
    name: row.name,
    status: row.status,
    type: 'EC2_AUTOSCALING',
    autoScalingGroupProvider: JSON.parse(row.autoScalingGroupProviderJson) as AutoScalingGroupProvider,
    updateStatus: row.updateStatus ?? undefined,
    updateStatusReason: row.updateStatusReason ?? undefined,
    tags: options.tags ? (JSON.parse(row.tagsJson) as Tag[]) : undefined,
  };
}

/** The providers associated with a cluster, in the order they were given. */
export const capacityProvidersOf = (cluster: ClusterRow): string[] =>
  JSON.parse(cluster.capacityProvidersJson) as string[];

/** The cluster's default strategy, base and weight filled in; empty when it has none. */
export const defaultStrategyOf = (cluster: ClusterRow): Required<CapacityProviderStrategyItem>[] =>
  JSON.parse(cluster.defaultCapacityProviderStrategyJson) as Required<CapacityProviderStrategyItem>[];
