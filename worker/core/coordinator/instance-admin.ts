/**
 * Writes to container instances that change what placement may do: draining, deregistration and
 * custom attributes. They run inside the cluster's coordinator, so the in-memory view and the
 * database never disagree.
 */
import { and, eq, inArray, ne } from 'drizzle-orm';
import { type ContainerInstanceRow, containerInstances, tasks } from '../../../db/schema';
import { arnInCluster } from '../arn';
import type { CoreDeps } from '../deps';
import { EcsError, invalidParameter } from '../errors';
import type { ClusterView } from './cluster-view';

export interface AttributeInput {
  name: string;
  value?: string;
  targetType?: string;
  targetId?: string;
}

const ATTRIBUTE_NAME = /^[a-zA-Z0-9_./-]{1,128}$/;
const ATTRIBUTE_VALUE = /^[a-zA-Z0-9_.@/: -]{1,128}$/;
const MAX_CUSTOM_ATTRIBUTES = 10;

export function instanceArnOf(deps: CoreDeps, clusterName: string, reference: string): string {
  return arnInCluster(deps.config, 'container-instance', clusterName, reference);
}

export async function setInstanceStatus(
  deps: CoreDeps,
  cluster: { name: string },
  view: ClusterView,
  references: string[],
  status: 'ACTIVE' | 'DRAINING',
) {
  if (references.length < 1 || references.length > 10) {
    throw invalidParameter('containerInstances: between 1 and 10 container instances must be given');
  }
  const updated: ContainerInstanceRow[] = [];
  const failures: { arn: string; reason: string }[] = [];
  for (const reference of references) {
    const arn = instanceArnOf(deps, cluster.name, reference);
    const instance = view.instances.get(arn);
    if (!instance) {
      failures.push({ arn, reason: 'MISSING' });
      continue;
    }
    if (instance.row.status === status) {
      updated.push(instance.row);
      continue;
    }
    const [row] = await deps.db
      .update(containerInstances)
      .set({ status, version: instance.row.version + 1 })
      .where(eq(containerInstances.arn, arn))
      .returning();
    view.upsertInstance(row);
    updated.push(row);
  }
  return { updated, failures };
}

/** Attributes only target container instances in Berth, as in ECS's EC2 mode. */
function requireTarget(
  deps: CoreDeps,
  cluster: { name: string },
  view: ClusterView,
  attribute: AttributeInput,
  i: number,
) {
  if (attribute.targetType !== undefined && attribute.targetType !== 'container-instance') {
    throw invalidParameter(`attributes[${i}].targetType: only container-instance is supported`);
  }
  if (!attribute.targetId) throw invalidParameter(`attributes[${i}].targetId: required field is missing`);
  const arn = instanceArnOf(deps, cluster.name, attribute.targetId);
  const instance = view.instances.get(arn);
  if (!instance)
    throw new EcsError(
      'TargetNotFoundException',
      `attributes[${i}].targetId: ${attribute.targetId} was not found`,
    );
  return instance;
}

function validateAttribute(attribute: AttributeInput, i: number, withValue: boolean) {
  if (!ATTRIBUTE_NAME.test(attribute.name)) {
    throw invalidParameter(
      `attributes[${i}].name: up to 128 letters, numbers, hyphens, underscores, periods and slashes are allowed`,
    );
  }
  if (withValue && attribute.value !== undefined && !ATTRIBUTE_VALUE.test(attribute.value)) {
    throw invalidParameter(
      `attributes[${i}].value: up to 128 letters, numbers, hyphens, underscores, periods, at signs, slashes, colons and spaces are allowed`,
    );
  }
}

export async function changeAttributes(
  deps: CoreDeps,
  cluster: { name: string },
  view: ClusterView,
  attributes: AttributeInput[],
  mode: 'put' | 'delete',
) {
  if (attributes.length < 1 || attributes.length > 10) {
    throw invalidParameter('attributes: between 1 and 10 attributes must be given');
  }
  // Validate everything first so a bad entry leaves nothing half-written.
  const targets = attributes.map((attribute, i) => {
    validateAttribute(attribute, i, mode === 'put');
    return requireTarget(deps, cluster, view, attribute, i);
  });
  const next = new Map<string, { name: string; value?: string }[]>();
  attributes.forEach((attribute, i) => {
    const arn = targets[i].row.arn;
    const current =
      next.get(arn) ??
      (JSON.parse(targets[i].row.customAttributesJson) as { name: string; value?: string }[]);
    const others = current.filter((a) => a.name !== attribute.name);
    next.set(arn, mode === 'put' ? [...others, { name: attribute.name, value: attribute.value }] : others);
  });
  for (const [arn, list] of next) {
    if (list.length > MAX_CUSTOM_ATTRIBUTES) {
      throw new EcsError(
        'AttributeLimitExceededException',
        `attributes: a container instance can have at most ${MAX_CUSTOM_ATTRIBUTES} custom attributes (${arn})`,
      );
    }
  }
  const writes = [...next].map(([arn, list]) =>
    deps.db
      .update(containerInstances)
      .set({ customAttributesJson: JSON.stringify(list) })
      .where(eq(containerInstances.arn, arn)),
  );
  await deps.db.batch(writes as [(typeof writes)[number], ...typeof writes]);
  for (const [arn, list] of next) {
    const view_ = view.instances.get(arn)!;
    view.upsertInstance({ ...view_.row, customAttributesJson: JSON.stringify(list) });
  }
  return {
    attributes: attributes.map((a) => ({
      name: a.name,
      value: mode === 'put' ? a.value : undefined,
      targetType: 'container-instance',
      targetId: a.targetId,
    })),
  };
}

export async function activeTasksOn(deps: CoreDeps, instanceArn: string) {
  return deps.db
    .select()
    .from(tasks)
    .where(and(inArray(tasks.containerInstanceArn, [instanceArn]), ne(tasks.lastStatus, 'STOPPED')));
}
