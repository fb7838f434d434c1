/**
 * PutAttributes and DeleteAttributes, cluster commands: custom attributes of container instances,
 * which placement constraints read, so they change in the room that places tasks.
 */
import { eq } from 'drizzle-orm';
import { containerInstances } from '../../../db/schema';
import type { Attribute, PutAttributesRequest, PutAttributesResponse } from '../../ecs-types.generated';
import { arnInCluster } from '../arn';
import type { ClusterCommand, CommandContext } from '../cluster/command-context';
import { EcsError, invalidParameter } from '../errors';

const ATTRIBUTE_NAME = /^[a-zA-Z0-9_./-]{1,128}$/;
const ATTRIBUTE_VALUE = /^[a-zA-Z0-9_.@/: -]{1,128}$/;
const MAX_CUSTOM_ATTRIBUTES = 10;

/** PutAttributes and DeleteAttributes have the same input and output shapes in the model. */
export const putAttributes: ClusterCommand<PutAttributesRequest, PutAttributesResponse> = (ctx, input) =>
  changeAttributes(ctx, input.attributes, 'put');

export const deleteAttributes: ClusterCommand<PutAttributesRequest, PutAttributesResponse> = (ctx, input) =>
  changeAttributes(ctx, input.attributes, 'delete');

/** Attributes only target container instances in Berth, as in ECS's EC2 mode. */
function requireTarget(ctx: CommandContext, attribute: Attribute, i: number) {
  if (attribute.targetType !== undefined && attribute.targetType !== 'container-instance') {
    throw invalidParameter(`attributes[${i}].targetType: only container-instance is supported`);
  }
  if (!attribute.targetId) throw invalidParameter(`attributes[${i}].targetId: required field is missing`);
  const arn = arnInCluster(ctx.deps.config, 'container-instance', ctx.cluster.name, attribute.targetId);
  const instance = ctx.view.instances.get(arn);
  if (!instance)
    throw new EcsError(
      'TargetNotFoundException',
      `attributes[${i}].targetId: ${attribute.targetId} was not found`,
    );
  return instance;
}

function validateAttribute(attribute: Attribute, i: number, withValue: boolean) {
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

async function changeAttributes(
  ctx: CommandContext,
  attributes: Attribute[],
  mode: 'put' | 'delete',
): Promise<PutAttributesResponse> {
  const { deps, view } = ctx;
  if (attributes.length < 1 || attributes.length > 10) {
    throw invalidParameter('attributes: between 1 and 10 attributes must be given');
  }
  // Validate everything first so a bad entry leaves nothing half-written.
  const targets = attributes.map((attribute, i) => {
    validateAttribute(attribute, i, mode === 'put');
    return requireTarget(ctx, attribute, i);
  });
  const next = new Map<string, Attribute[]>();
  attributes.forEach((attribute, i) => {
    const arn = targets[i].row.arn;
    const current = next.get(arn) ?? (JSON.parse(targets[i].row.customAttributesJson) as Attribute[]);
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
